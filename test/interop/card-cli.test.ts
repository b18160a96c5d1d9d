// `tessera card serve | list | info --reader` as processes against the real pcscd, including a pcscd restart under a served card.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { pcscdStackStatus, startPcscdStack, stopPcscdStack } from '../../scripts/pcscd-stack.ts';
import { waitForCard, waitForCardRemoval } from '../../src/pcsc/pcsc-readers.ts';
import { pcscdMissing, requireOwnPcscd } from '../support/pcscd-available.ts';
import { runTool } from '../support/run-tool.ts';

const TESSERA = resolve('bin/tessera.js');
const READER = 'Virtual PCD 00 01';
const VPCD = '127.0.0.1:35964';

const tessera = (...args: string[]) => runTool(process.execPath, [TESSERA, ...args]);

interface Served {
  child: ChildProcess;
  log: () => string;
  exited: Promise<number | null>;
}

function serve(statePath: string): Served {
  const child = spawn(process.execPath, [TESSERA, 'card', 'serve', '--state', statePath, '--vpcd', VPCD], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolveExit) => child.once('exit', (code) => resolveExit(code)));
  return { child, log: () => output, exited };
}

describe.skipIf(pcscdMissing())('tessera card serve | list | info --reader through pcscd', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-card-cli-'));
  let served: Served | undefined;

  afterEach(async () => {
    if (served && served.child.exitCode === null) {
      served.child.kill('SIGTERM');
      await served.exited;
    }
    served = undefined;
    await waitForCardRemoval(READER, { timeoutMs: 10_000 });
  });

  it('serves a card file: list shows it with its ATR, info --reader reads it, SIGTERM removes it and keeps its state', async () => {
    const state = join(dir, 'piv-1.json');
    expect((await tessera('card', 'create', '--type', 'piv', '--state', state, '--serial', '40000001')).code).toBe(0);
    served = serve(state);
    await waitForCard(READER, { timeoutMs: 10_000 });

    const list = await tessera('card', 'list', '--json');
    expect(list.code).toBe(0);
    const rows = JSON.parse(list.stdout) as Array<{ reader: string; cardPresent: boolean; atr: string | null }>;
    expect(rows).toContainEqual({ reader: READER, cardPresent: true, atr: '3BFD1300008131FE158073C021C057597562694B657940' });

    const info = await tessera('card', 'info', '--reader', READER, '--json');
    expect(info.code, info.output).toBe(0);
    expect(JSON.parse(info.stdout)).toMatchObject({ type: 'piv', serial: 40000001, version: '5.4.3', pinTriesLeft: 3, pukTriesLeft: 3 });

    // A wrong PIN through a foreign tool changes the card's state, which must survive the stop.
    expect((await runTool('yubico-piv-tool', ['-r', READER, '-a', 'verify-pin', '-P', '999999'])).code).not.toBe(0);
    served.child.kill('SIGTERM');
    expect(await served.exited).toBe(0);
    await waitForCardRemoval(READER, { timeoutMs: 10_000 });
    expect(served.log()).toContain('attached to vpcd 127.0.0.1:35964');
    expect(served.log()).toContain('stopped on SIGTERM');

    const after = await tessera('card', 'info', '--card', state, '--json');
    expect(JSON.parse(after.stdout)).toMatchObject({ pinTriesLeft: 2 });
  });

  it('info --reader on an unknown reader names the readers there are', async () => {
    const info = await tessera('card', 'info', '--reader', 'No Such Reader');
    expect(info.code).toBe(1);
    expect(info.stderr).toContain('ERR_PCSC_READER_NOT_FOUND');
    expect(info.stderr).toContain('Virtual PCD 00 00');
  });

  it('serve refuses a bad --vpcd address and a missing state file with one clear line', async () => {
    const badAddress = await tessera('card', 'serve', '--state', join(dir, 'none.json'), '--vpcd', 'localhost:99999');
    expect(badAddress.code).not.toBe(0);
    expect(badAddress.stderr).toContain('ERR_VPCD_ADDRESS');
    const missing = await tessera('card', 'serve', '--state', join(dir, 'none.json'), '--vpcd', VPCD);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain('ERR_STATE_FILE_MISSING');
  });

  it('a served card comes back by itself when pcscd restarts', async (context) => {
    const status = await pcscdStackStatus();
    requireOwnPcscd(context, status.ours, 'pcscd was not started by scripts/pcscd-stack.ts, so the test must not restart it');
    const state = join(dir, 'piv-2.json');
    expect((await tessera('card', 'create', '--type', 'piv', '--state', state, '--serial', '40000002')).code).toBe(0);
    served = serve(state);
    await waitForCard(READER, { timeoutMs: 10_000 });

    await stopPcscdStack();
    await startPcscdStack({ nodelay: status.nodelay });
    await waitForCard(READER, { timeoutMs: 15_000 });
    const info = await tessera('card', 'info', '--reader', READER, '--json');
    expect(JSON.parse(info.stdout)).toMatchObject({ serial: 40000002 });
    expect(served.log().match(/attached to vpcd/g)?.length).toBeGreaterThanOrEqual(2);
  });
});
