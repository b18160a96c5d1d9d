// The identity section of the server configuration: valid settings parsed, secrets wrapped, bad ones refused without echoing values.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Secret } from '../../secret.ts';
import { identityOptionsFor, loadIdentityOptions, parseIdentityOptions } from './identity-config.ts';

const ldap = { kind: 'ldap', url: 'ldaps://ldap.example.org', caFile: '/etc/ssl/ca.pem', bindDn: 'cn=tessera,dc=example,dc=org', baseDn: 'ou=people,dc=example,dc=org' };

describe('identity configuration', () => {
  it('parses LDAP and SMTP settings and wraps passwords as secrets, from the file or the environment', () => {
    process.env.TEST_TESSERA_BIND_PW = 'from-env-pw';
    const options = parseIdentityOptions({
      directory: { ...ldap, bindPasswordEnv: 'TEST_TESSERA_BIND_PW' },
      smtp: { host: 'smtp.example.org', port: 587, requireTls: true, user: 'tessera', password: 'smtp-pw', from: 'Tessera <tessera@example.org>' },
      argon2: { memoryKib: 19456, iterations: 2, parallelism: 1 },
    });
    expect(options.directory).toMatchObject({ kind: 'ldap', url: 'ldaps://ldap.example.org' });
    const bindPassword = (options.directory as { bindPassword: Secret }).bindPassword;
    expect(bindPassword).toBeInstanceOf(Secret);
    expect(bindPassword.exposeText()).toBe('from-env-pw');
    expect(options.smtp?.password?.exposeText()).toBe('smtp-pw');
    expect(JSON.stringify(options)).not.toContain('smtp-pw');
    delete process.env.TEST_TESSERA_BIND_PW;
  });

  it('refuses unknown keys, bad URLs and a missing password variable with ERR_IDENTITY_CONFIGURATION, naming paths but never values', () => {
    expect(() => parseIdentityOptions({ directory: { ...ldap, url: 'http://x' } })).toThrow(expect.objectContaining({ code: 'ERR_IDENTITY_CONFIGURATION' }));
    expect(() => parseIdentityOptions({ smtp: { host: 'h', port: 25, from: 'a@b', pasword: 'typo-secret' } })).toThrow(/smtp/);
    try {
      parseIdentityOptions({ smtp: { host: 'h', port: 25, from: 'a@b', pasword: 'typo-secret' } });
    } catch (error) {
      expect((error as Error).message).not.toContain('typo-secret');
    }
    expect(() => parseIdentityOptions({ directory: { ...ldap, bindPasswordEnv: 'TESSERA_NOT_SET_ANYWHERE' } })).toThrow(/TESSERA_NOT_SET_ANYWHERE/);
  });

  it('reads DATA/identity.json when present, defaults otherwise', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tessera-idcfg-'));
    try {
      expect(identityOptionsFor(dir)).toEqual({});
      writeFileSync(join(dir, 'identity.json'), JSON.stringify({ directory: { kind: 'local' } }));
      expect(identityOptionsFor(dir)).toEqual({ directory: { kind: 'local' } });
      writeFileSync(join(dir, 'broken.json'), '{');
      expect(() => loadIdentityOptions(join(dir, 'broken.json'))).toThrow(expect.objectContaining({ code: 'ERR_IDENTITY_CONFIGURATION' }));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('README example', () => {
  it('parses', () => {
    process.env.TESSERA_LDAP_BIND_PASSWORD = 'x';
    process.env.TESSERA_SMTP_PASSWORD = 'y';
    const example = {
      directory: {
        kind: 'ldap',
        url: 'ldaps://ldap.example.org:636',
        caFile: '/etc/tessera/ldap-ca.pem',
        bindDn: 'cn=tessera,ou=services,dc=example,dc=org',
        bindPasswordEnv: 'TESSERA_LDAP_BIND_PASSWORD',
        baseDn: 'ou=people,dc=example,dc=org',
        userFilter: '(&(objectClass=inetOrgPerson)(uid={username}))',
        attributes: { username: 'uid', displayName: 'cn', email: 'mail' },
        disabledAttribute: 'employeeType',
        disabledValues: ['disabled', 'left'],
        connectTimeoutMs: 3000,
        operationTimeoutMs: 5000,
      },
      smtp: { host: 'smtp.example.org', port: 587, requireTls: true, caFile: '/etc/tessera/smtp-ca.pem', user: 'tessera', passwordEnv: 'TESSERA_SMTP_PASSWORD', from: 'Tessera <tessera@example.org>' },
      argon2: { memoryKib: 19456, iterations: 2, parallelism: 1 },
      unblockCodes: { validMinutes: 15, attempts: 5 },
    };
    expect(parseIdentityOptions(example).directory).toMatchObject({ kind: 'ldap', baseDn: 'ou=people,dc=example,dc=org' });
    delete process.env.TESSERA_LDAP_BIND_PASSWORD;
    delete process.env.TESSERA_SMTP_PASSWORD;
  });
});
