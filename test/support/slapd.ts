// Starts a throwaway OpenLDAP slapd on free loopback ports (plain and TLS) with a small test directory, and stops it by PID.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'vitest';
import { TesseraError } from '../../src/errors.ts';

export class SlapdUnavailableError extends TesseraError {
  readonly code = 'ERR_TEST_SLAPD_UNAVAILABLE';
}

export const TEST_BASE_DN = 'dc=tessera,dc=test';
export const TEST_BIND_DN = `cn=reader,${TEST_BASE_DN}`;
export const TEST_BIND_PASSWORD = 'reader-pw-7731';

export interface TestHolderEntry {
  uid: string;
  cn: string;
  mail?: string;
  password: string;
  /** Disabled holders carry employeeType "disabled". */
  disabled?: boolean;
}

export const TEST_HOLDERS: TestHolderEntry[] = [
  { uid: 'alice', cn: 'Alice Martin', mail: 'alice@tessera.test', password: 'alice-Directory-pw1' },
  { uid: 'bob', cn: 'Bob Durand', mail: 'bob@tessera.test', password: 'bob-Directory-pw2' },
  { uid: 'carol', cn: 'Carol Petit', password: 'carol-Directory-pw3', disabled: true },
];

export interface TestSlapd {
  /** ldap://127.0.0.1:PORT */
  url: string;
  /** ldaps://127.0.0.1:PORT, with `caFile` the self-signed certificate slapd serves. */
  tlsUrl: string;
  caFile: string;
  pid: number;
  stop(): Promise<void>;
}

const SLAPD = '/usr/sbin/slapd';
const SLAPADD = '/usr/sbin/slapadd';
const MODULE_DIR = '/usr/lib/ldap';
const SCHEMA_DIR = '/etc/ldap/schema';

function underCi(): boolean {
  return process.env.CI === 'true' || process.env.CI === '1';
}

export function slapdUnavailableReason(): string | undefined {
  if (!existsSync(SLAPD) || !existsSync(SLAPADD)) return 'slapd/slapadd not installed (Debian packages slapd, ldap-utils)';
  if (!existsSync(join(MODULE_DIR, 'back_mdb.so'))) return `no back_mdb module in ${MODULE_DIR}`;
  if (spawnSync('openssl', ['version']).status !== 0) return 'openssl not found (needed for the test TLS certificate)';
  return undefined;
}

/** RFC 2307 {SSHA}: SHA-1 over password ‖ salt, then salt appended. */
function sshaPassword(password: string): string {
  const salt = randomBytes(8);
  return `{SSHA}${Buffer.concat([createHash('sha1').update(password).update(salt).digest(), salt]).toString('base64')}`;
}

function directoryLdif(holders: TestHolderEntry[]): string {
  const entries = [
    `dn: ${TEST_BASE_DN}\nobjectClass: dcObject\nobjectClass: organization\ndc: tessera\no: Tessera Test`,
    `dn: ou=people,${TEST_BASE_DN}\nobjectClass: organizationalUnit\nou: people`,
    `dn: ${TEST_BIND_DN}\nobjectClass: organizationalRole\nobjectClass: simpleSecurityObject\ncn: reader\nuserPassword: ${sshaPassword(TEST_BIND_PASSWORD)}`,
    ...holders.map((h) =>
      [
        `dn: uid=${h.uid},ou=people,${TEST_BASE_DN}`,
        'objectClass: inetOrgPerson',
        `uid: ${h.uid}`,
        `cn: ${h.cn}`,
        `sn: ${h.cn.split(' ').at(-1)}`,
        ...(h.mail ? [`mail: ${h.mail}`] : []),
        ...(h.disabled ? ['employeeType: disabled'] : []),
        `userPassword: ${sshaPassword(h.password)}`,
      ].join('\n'),
    ),
  ];
  return entries.join('\n\n') + '\n';
}

async function freeLoopbackPort(): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

async function portOpen(port: number): Promise<boolean> {
  return await new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** Starts slapd in the foreground (so its PID is ours) with the test directory loaded by slapadd. */
export async function startTestSlapd(holders: TestHolderEntry[] = TEST_HOLDERS): Promise<TestSlapd> {
  const reason = slapdUnavailableReason();
  if (reason !== undefined) throw new SlapdUnavailableError(reason);
  const dir = mkdtempSync(join(tmpdir(), 'tessera-slapd-'));
  const dbDir = join(dir, 'db');
  mkdirSync(dbDir);
  const certFile = join(dir, 'server.crt');
  const keyFile = join(dir, 'server.key');
  const cert = spawnSync(
    'openssl',
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '2', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost', '-keyout', keyFile, '-out', certFile],
    { encoding: 'utf8', timeout: 30_000 },
  );
  if (cert.status !== 0) throw new SlapdUnavailableError(`openssl could not make the test certificate: ${cert.stderr}`);
  const config = join(dir, 'slapd.conf');
  writeFileSync(
    config,
    [
      `include ${SCHEMA_DIR}/core.schema`,
      `include ${SCHEMA_DIR}/cosine.schema`,
      `include ${SCHEMA_DIR}/inetorgperson.schema`,
      `pidfile ${join(dir, 'slapd.pid')}`,
      `modulepath ${MODULE_DIR}`,
      'moduleload back_mdb',
      `TLSCertificateFile ${certFile}`,
      `TLSCertificateKeyFile ${keyFile}`,
      'database mdb',
      `suffix "${TEST_BASE_DN}"`,
      `rootdn "cn=admin,${TEST_BASE_DN}"`,
      `rootpw ${sshaPassword(randomBytes(12).toString('hex'))}`,
      `directory ${dbDir}`,
      'maxsize 10485760',
      'access to attrs=userPassword by anonymous auth by * none',
      'access to * by users read by anonymous auth',
      '',
    ].join('\n'),
  );
  const ldif = join(dir, 'directory.ldif');
  writeFileSync(ldif, directoryLdif(holders));
  const added = spawnSync(SLAPADD, ['-f', config, '-l', ldif], { encoding: 'utf8', timeout: 30_000 });
  if (added.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    throw new SlapdUnavailableError(`slapadd failed: ${added.stderr.trim().split('\n').slice(-3).join(' ')}`);
  }
  const port = await freeLoopbackPort();
  const tlsPort = await freeLoopbackPort();
  // -d 0 keeps slapd in the foreground, so the child we hold is slapd itself and stopping it is a kill by PID.
  const child: ChildProcess = spawn(SLAPD, ['-d', '0', '-f', config, '-h', `ldap://127.0.0.1:${port}/ ldaps://127.0.0.1:${tlsPort}/`], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const onExit = (): void => {
    if (child.exitCode === null) child.kill('SIGKILL');
  };
  process.once('exit', onExit);
  for (let i = 0; i < 100; i++) {
    if (child.exitCode !== null) break;
    if ((await portOpen(port)) && (await portOpen(tlsPort))) {
      return { url: `ldap://127.0.0.1:${port}`, tlsUrl: `ldaps://127.0.0.1:${tlsPort}`, caFile: certFile, pid: child.pid!, stop };
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  await stop();
  throw new SlapdUnavailableError(`slapd did not start: ${stderr.trim().split('\n').slice(-3).join(' ')}`);
}

/** `describe` for suites that need slapd: skipped loudly when it cannot start, a failing suite under CI=true. */
export function describeWithSlapd(name: string, body: () => void): void {
  const reason = slapdUnavailableReason();
  if (reason === undefined) {
    describe(name, body);
    return;
  }
  describe(name, () => {
    if (underCi()) {
      it('has slapd (required under CI)', () => {
        throw new SlapdUnavailableError(`slapd is required under CI but ${reason}`);
      });
      return;
    }
    console.warn(`\n*** SKIPPING slapd tests "${name}": ${reason} ***\n`);
    it.skip(`slapd unavailable: ${reason}`, () => undefined);
  });
}

export function readCa(slapd: TestSlapd): string {
  return readFileSync(slapd.caFile, 'utf8');
}
