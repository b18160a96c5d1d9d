// The LDAP directory against a real slapd: holders found, passwords checked, TLS (ldaps and StartTLS), a dead directory fails fast.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Secret } from '../../src/secret.ts';
import { LdapDirectory, escapeFilterValue, type LdapDirectoryConfig } from '../../src/server/identity/ldap-directory.ts';
import { exampleTemplates } from '../../src/server/domain/credential-template.ts';
import { TEST_ARGON2_COST } from '../../src/server/identity/password-hasher.ts';
import { startTestServer } from './test-server.ts';
import { describeWithSlapd, startTestSlapd, TEST_BASE_DN, TEST_BIND_DN, TEST_BIND_PASSWORD, TEST_HOLDERS, type TestSlapd } from '../support/slapd.ts';

describeWithSlapd('LDAP directory against slapd', () => {
  let slapd: TestSlapd;
  let config: LdapDirectoryConfig;
  beforeAll(async () => {
    slapd = await startTestSlapd();
    config = {
      kind: 'ldap',
      url: slapd.url,
      bindDn: TEST_BIND_DN,
      bindPassword: Secret.fromText(TEST_BIND_PASSWORD),
      baseDn: TEST_BASE_DN,
      disabledAttribute: 'employeeType',
      disabledValues: ['disabled'],
    };
  });
  afterAll(async () => slapd?.stop());

  it('finds holders with username, display name, e-mail and status', async () => {
    const directory = new LdapDirectory(config);
    expect(await directory.findHolder('alice')).toEqual({ username: 'alice', displayName: 'Alice Martin', email: 'alice@tessera.test', status: 'active' });
    expect(await directory.findHolder('carol')).toEqual({ username: 'carol', displayName: 'Carol Petit', email: null, status: 'disabled' });
    expect(await directory.findHolder('nobody')).toBeNull();
    expect(await directory.findHolder('*')).toBeNull();
    expect((await directory.searchHolders('Durand', 10)).map((h) => h.username)).toEqual(['bob']);
    expect((await directory.searchHolders('tessera.test', 10)).map((h) => h.username).sort()).toEqual(['alice', 'bob']);
  });

  it('checks passwords by binding: right, wrong, empty, unknown holder, disabled holder', async () => {
    const directory = new LdapDirectory(config);
    const alice = TEST_HOLDERS[0]!;
    expect(await directory.checkPassword('alice', Secret.fromText(alice.password))).toBe('valid');
    expect(await directory.checkPassword('alice', Secret.fromText(`${alice.password}x`))).toBe('invalid');
    expect(await directory.checkPassword('alice', Secret.fromText(''))).toBe('invalid');
    expect(await directory.checkPassword('bob', Secret.fromText(alice.password))).toBe('invalid');
    expect(await directory.checkPassword('nobody', Secret.fromText('x'))).toBe('no-such-holder');
    expect(await directory.checkPassword('carol', Secret.fromText(TEST_HOLDERS[2]!.password))).toBe('holder-disabled');
  });

  it('speaks TLS: ldaps:// and StartTLS with the CA file, and refuses a certificate it cannot verify', async () => {
    const overLdaps = new LdapDirectory({ ...config, url: slapd.tlsUrl, caFile: slapd.caFile });
    expect((await overLdaps.findHolder('bob'))?.displayName).toBe('Bob Durand');
    expect(await overLdaps.checkPassword('bob', Secret.fromText(TEST_HOLDERS[1]!.password))).toBe('valid');
    const startTls = new LdapDirectory({ ...config, startTls: true, caFile: slapd.caFile });
    expect(await startTls.checkPassword('alice', Secret.fromText(TEST_HOLDERS[0]!.password))).toBe('valid');
    const untrusted = new LdapDirectory({ ...config, url: slapd.tlsUrl });
    await expect(untrusted.findHolder('bob')).rejects.toMatchObject({ code: 'ERR_DIRECTORY_UNAVAILABLE' });
  });

  it('reports a refused service account as a configuration error', async () => {
    const directory = new LdapDirectory({ ...config, bindPassword: Secret.fromText('wrong') });
    await expect(directory.findHolder('alice')).rejects.toMatchObject({ code: 'ERR_DIRECTORY_CONFIGURATION' });
  });

  it('fails fast with ERR_DIRECTORY_UNAVAILABLE when slapd is down or silent', async () => {
    const down = await startTestSlapd();
    const downUrl = down.url;
    await down.stop();
    const directory = new LdapDirectory({ ...config, url: downUrl, connectTimeoutMs: 500, operationTimeoutMs: 500 });
    await expect(directory.findHolder('alice')).rejects.toMatchObject({ code: 'ERR_DIRECTORY_UNAVAILABLE' });
    await expect(directory.checkPassword('alice', Secret.fromText('x'))).rejects.toMatchObject({ code: 'ERR_DIRECTORY_UNAVAILABLE' });
    // A listener that accepts but never answers: the operation timeout ends the wait.
    const { createServer } = await import('node:net');
    const silent = createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as { port: number }).port;
    const hung = new LdapDirectory({ ...config, url: `ldap://127.0.0.1:${port}`, connectTimeoutMs: 500, operationTimeoutMs: 500 });
    await expect(hung.findHolder('alice')).rejects.toMatchObject({ code: 'ERR_DIRECTORY_UNAVAILABLE' });
    silent.close();
  });

  it('escapes filter values', () => {
    expect(escapeFilterValue('a*b(c)\\d')).toBe('a\\2ab\\28c\\29\\5cd');
  });

  it('serves the API from LDAP: holder lookups, identity checks, read-only directory, and a dead directory answered with a code', async () => {
    const server = await startTestServer('sqlite', { identity: { argon2: TEST_ARGON2_COST, directory: config } });
    const dead = await startTestServer('sqlite', { identity: { argon2: TEST_ARGON2_COST, directory: { ...config, url: 'ldap://127.0.0.1:1', connectTimeoutMs: 500, operationTimeoutMs: 500 } } });
    try {
      const search = await server.request(server.helpdesk, { method: 'GET', url: '/api/v1/holders?search=martin' });
      expect(search.json()).toEqual([{ username: 'alice', displayName: 'Alice Martin', email: 'alice@tessera.test', status: 'active' }]);
      const alice = await server.request(server.helpdesk, { method: 'GET', url: '/api/v1/holders/alice' });
      expect(alice.json()).toMatchObject({ username: 'alice', directory: 'ldap', securityQuestions: { enrolled: 0 } });
      const add = await server.request(server.admin, { method: 'POST', url: '/api/v1/holders', payload: { username: 'zed', displayName: 'Zed' } });
      expect(add.json().code).toBe('ERR_DIRECTORY_READ_ONLY');

      for (const app of [server, dead]) {
        const template = await app.request(app.admin, { method: 'POST', url: '/api/v1/templates', payload: { ...exampleTemplates()[0]!, name: 'LDAP DP', selfServiceIdentity: { factors: ['directory-password'], minimumFactors: 1 } } });
        await app.request(app.admin, { method: 'POST', url: '/api/v1/credentials', payload: { cardType: 'piv', cardIdentifier: 'ee'.repeat(16), holder: { id: 'alice', name: 'Alice' }, templateId: template.json().id } });
      }
      const credentialOf = async (app: typeof server) => (await app.request(app.admin, { method: 'GET', url: '/api/v1/credentials?holderId=alice' })).json()[0].id as string;
      const check = async (app: typeof server, password: string) =>
        (await app.request(null, { method: 'POST', url: '/api/v1/identity-checks', payload: { credentialId: await credentialOf(app), directoryPassword: password } })).json();
      expect(await check(server, TEST_HOLDERS[0]!.password)).toMatchObject({ passed: true, reason: 'OK' });
      const wrong = await check(server, 'not-alices-password');
      expect(wrong).toMatchObject({ passed: false, reason: 'FACTOR_FAILED', factors: [{ factor: 'directory-password', result: 'fail', reason: 'PASSWORD_WRONG' }, expect.anything(), expect.anything()] });

      const down = await check(dead, TEST_HOLDERS[0]!.password);
      expect(down).toMatchObject({ passed: false, reason: 'DIRECTORY_UNAVAILABLE' });
      expect(down.factors[0]).toMatchObject({ factor: 'directory-password', reason: 'DIRECTORY_UNAVAILABLE' });
      const lookup = await dead.request(dead.helpdesk, { method: 'GET', url: '/api/v1/holders/alice' });
      expect(lookup.statusCode).toBe(503);
      expect(lookup.json().code).toBe('ERR_DIRECTORY_UNAVAILABLE');
      const explained = (await dead.request(dead.admin, { method: 'GET', url: `/api/v1/credentials/${await credentialOf(dead)}/unblock-methods` })).json();
      expect(explained.methods.find((m: { method: string }) => m.method === 'user-app').reasons).toContain('DIRECTORY_UNAVAILABLE');
      for (const app of [server, dead]) expect(app.logs()).not.toContain(TEST_HOLDERS[0]!.password);
    } finally {
      await server.close();
      await dead.close();
    }
  });
});
