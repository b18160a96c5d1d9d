// Throwaway SoftHSM2 tokens for PKCS#11 tests: a private softhsm2.conf and token directory per test process.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'vitest';
import { TesseraError } from '../../src/errors.ts';

export const SOFTHSM_LIBRARY = '/usr/lib/softhsm/libsofthsm2.so';
export const TEST_USER_PIN = '4321-user';
const TEST_SO_PIN = '8765-security-officer';

export class SoftHsmUnavailableError extends TesseraError {
  readonly code = 'ERR_TEST_SOFTHSM_UNAVAILABLE';
}

function unavailableReason(): string | undefined {
  if (!existsSync(SOFTHSM_LIBRARY)) return `${SOFTHSM_LIBRARY} is missing (Debian package softhsm2)`;
  if (spawnSync('softhsm2-util', ['--version'], { encoding: 'utf8' }).status !== 0) return 'softhsm2-util is not on PATH (Debian package softhsm2)';
  return undefined;
}

let tokenDirectory: string | undefined;

/**
 * Points this process at a fresh SoftHSM configuration (SOFTHSM2_CONF) the first time it is called. The PKCS#11
 * library reads the configuration when it is initialised, so create every token before opening a store.
 */
function ensureConfiguration(): string {
  if (tokenDirectory !== undefined) return tokenDirectory;
  const root = mkdtempSync(join(tmpdir(), 'tessera-softhsm-'));
  const tokens = join(root, 'tokens');
  mkdirSync(tokens, { mode: 0o700 });
  const conf = join(root, 'softhsm2.conf');
  writeFileSync(conf, `directories.tokendir = ${tokens}\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n`);
  process.env.SOFTHSM2_CONF = conf;
  process.once('exit', () => rmSync(root, { recursive: true, force: true }));
  tokenDirectory = tokens;
  return tokens;
}

/** Initialises a new token with the given label (user PIN TEST_USER_PIN). */
export function createSoftHsmToken(label: string): void {
  ensureConfiguration();
  const result = spawnSync('softhsm2-util', ['--init-token', '--free', '--label', label, '--so-pin', TEST_SO_PIN, '--pin', TEST_USER_PIN], {
    encoding: 'utf8',
    env: process.env,
  });
  if (result.status !== 0) throw new SoftHsmUnavailableError(`softhsm2-util --init-token failed: ${result.stderr.trim()}`);
}

/** `describe` for PKCS#11 suites: skipped loudly without SoftHSM2, failing instead under CI=true. */
export function describeWithSoftHsm(name: string, body: () => void): void {
  const reason = unavailableReason();
  if (reason === undefined) {
    describe(name, body);
    return;
  }
  describe(name, () => {
    if (process.env.CI === 'true' || process.env.CI === '1') {
      it('has SoftHSM2 (required under CI)', () => {
        throw new SoftHsmUnavailableError(`SoftHSM2 is required under CI but ${reason}`);
      });
      return;
    }
    console.warn(`\n*** SKIPPING PKCS#11 tests "${name}": ${reason} ***\n`);
    it.skip(`SoftHSM2 unavailable: ${reason}`, () => undefined);
  });
}
