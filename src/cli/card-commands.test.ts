import { execFile } from 'node:child_process';
import { createPublicKey } from 'node:crypto';
import { mkdtempSync, statSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const TESSERA = join(import.meta.dirname, '../../bin/tessera.js');

async function tessera(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [TESSERA, ...args]);
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

async function tesseraWithInput(input: string, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [TESSERA, ...args], (error, stdout, stderr) => {
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
    child.stdin!.end(input);
  });
}

describe('tessera card create / info', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-cli-'));

  it('creates a PIV card file with mode 0600 and shows its facts', async () => {
    const path = join(dir, 'piv.json');
    const created = await tessera('card', 'create', '--type', 'piv', '--state', path, '--serial', '31337');
    expect(created.code).toBe(0);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const info = await tessera('card', 'info', '--card', path, '--json');
    expect(info.code).toBe(0);
    expect(JSON.parse(info.stdout)).toEqual({ type: 'piv', identifier: null, serial: 31337, version: '5.4.3', pinTriesLeft: 3, pukTriesLeft: 3 });
    const human = await tessera('card', 'info', '--card', path);
    expect(human.stdout).toMatch(/PIN tries left:\s+3/);
  });

  it('generates a key in a slot with the management key given on stdin', async () => {
    const path = join(dir, 'keys.json');
    await tessera('card', 'create', '--type', 'piv', '--state', path);
    const generated = await tesseraWithInput('010203040506070801020304050607080102030405060708\n', 'card', 'generate-key', '--card', path, '--slot', '9e');
    expect(generated.code).toBe(0);
    expect(createPublicKey(generated.stdout).asymmetricKeyDetails).toEqual({ namedCurve: 'prime256v1' });
    const wrong = await tesseraWithInput(`${'02'.repeat(24)}\n`, 'card', 'generate-key', '--card', path, '--slot', '9a');
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/ERR_CARD_AUTHENTICATION_FAILED/);
  });

  it('says that a virtual card is not a secure element', async () => {
    const help = await tessera('card', 'create', '--help');
    expect(help.stdout).toContain('not a secure element');
  });

  it('answers bad arguments and bad state files with one line and a non-zero code', async () => {
    const path = join(dir, 'broken.json');
    const cases: [string[], RegExp, number][] = [
      [['card', 'create', '--type', 'piv', '--state', join(dir, 'x.json'), '--serial', '-4'], /ERR_CLI_USAGE/, 2],
      [['card', 'create', '--type', 'nfc', '--state', join(dir, 'y.json')], /argument 'nfc' is invalid/, 2],
      [['card', 'info', '--card', join(dir, 'missing.json')], /ERR_STATE_FILE_MISSING/, 1],
      [['card', 'info'], /ERR_CLI_USAGE/, 2],
    ];
    writeFileSync(path, readFileSync(join(dir, 'piv.json'), 'utf8').slice(0, 100));
    cases.push([['card', 'info', '--card', path], /ERR_STATE_FILE_CORRUPT/, 1]);
    for (const [args, pattern, code] of cases) {
      const result = await tessera(...args);
      expect(result.code, args.join(' ')).toBe(code);
      expect(result.stderr.trim().split('\n')).toHaveLength(1);
      expect(result.stderr).toMatch(pattern);
    }
  });
});
