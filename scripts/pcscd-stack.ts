// Starts and stops the pcscd + vpcd test stack (TCP_NODELAY via an LD_PRELOAD shim) for tests, CI and benchmarks.
//
// Usage: scripts/pcscd-stack.sh start|stop|status   (or: node bin/run-ts.js scripts/pcscd-stack.ts ...)
//
// Policy for an already running pcscd: one this script started (state file) is reused and left
// running; one it did not start is reused when the vpcd readers are visible (without the
// TCP_NODELAY shim, so slowly) and never stopped; otherwise starting fails. Only the PID recorded
// in the state file is ever signalled.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readSync, renameSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { TesseraError } from '../src/errors.ts';
import { listPcscReaders } from '../src/pcsc/pcsc-readers.ts';

export const VPCD_READERS = ['Virtual PCD 00 00', 'Virtual PCD 00 01'] as const;

const SCRIPT_DIR = dirname(fileURLToPath(import.meta.url));
const SHIM_SOURCE = join(SCRIPT_DIR, 'vpcd-nodelay.c');
const WORK_DIR = join(tmpdir(), 'tessera-pcscd');
const STATE_FILE = join(WORK_DIR, 'stack.json');
const PCSCD_PID_FILE = '/run/pcscd/pcscd.pid';
const READY_TIMEOUT_MS = 15_000;
const STOP_TIMEOUT_MS = 5_000;

export class PcscdStackError extends TesseraError {
  readonly code = 'ERR_PCSCD_STACK';
}

export interface PcscdStackInfo {
  pid: number | undefined;
  /** True when this call started pcscd: the caller stops it with stopPcscdStack(). */
  startedNow: boolean;
  /** True when pcscd runs with the TCP_NODELAY shim; false when unknown or absent. */
  nodelay: boolean;
  logFile: string | undefined;
}

export interface StartPcscdOptions {
  /** Load the TCP_NODELAY shim (default true). False gives stock vpcd timing (benchmarks). */
  nodelay?: boolean;
  /** Start pcscd with `-d -a` (debug log with APDUs) — default from TESSERA_PCSCD_DEBUG=1. */
  debug?: boolean;
  /** Where warnings go (default stderr). */
  warn?: (message: string) => void;
}

interface StackState {
  pid: number;
  nodelay: boolean;
  logFile: string;
}

const defaultWarn = (message: string): void => {
  process.stderr.write(`\n!!!!!!!!!! pcscd stack: ${message}\n\n`);
};

function processName(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return undefined;
  }
}

function isPcscdProcess(pid: number): boolean {
  return processName(pid) === 'pcscd';
}

function readState(): StackState | undefined {
  try {
    const state = JSON.parse(readFileSync(STATE_FILE, 'utf8')) as StackState;
    return typeof state.pid === 'number' ? state : undefined;
  } catch {
    return undefined;
  }
}

function writeState(state: StackState): void {
  mkdirSync(WORK_DIR, { recursive: true });
  const temporary = `${STATE_FILE}.${process.pid}.tmp`;
  writeFileSync(temporary, JSON.stringify(state), { mode: 0o600 });
  renameSync(temporary, STATE_FILE);
}

function removeState(): void {
  try {
    unlinkSync(STATE_FILE);
  } catch {
    // Already gone.
  }
}

/** The PID of a running pcscd, from its pid file (written by pcscd itself), if any. */
function runningPcscdPid(): number | undefined {
  try {
    const pid = Number.parseInt(readFileSync(PCSCD_PID_FILE, 'utf8').trim(), 10);
    if (Number.isInteger(pid) && pid > 0 && isPcscdProcess(pid)) return pid;
  } catch {
    // No pid file: no pcscd, or one started with a different run directory (caught by the reader probe).
  }
  return undefined;
}

function findOnPath(command: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(':').concat(['/usr/sbin', '/sbin'])) {
    const candidate = join(dir || '.', command);
    if (existsSync(candidate)) return candidate;
  }
  return undefined;
}

/** Compiles the TCP_NODELAY shim once per source version into a cache folder; undefined when gcc cannot. */
export function buildNodelayShim(warn: (message: string) => void = defaultWarn): string | undefined {
  const source = readFileSync(SHIM_SOURCE);
  const hash = createHash('sha256').update(source).digest('hex').slice(0, 16);
  const output = join(WORK_DIR, `vpcd-nodelay-${hash}.so`);
  if (existsSync(output)) return output;
  const gcc = findOnPath('gcc') ?? findOnPath('cc');
  if (!gcc) {
    warn('gcc not found: pcscd runs WITHOUT the TCP_NODELAY shim, so every APDU through vpcd takes ~40 ms (install gcc).');
    return undefined;
  }
  mkdirSync(WORK_DIR, { recursive: true });
  const temporary = `${output}.${process.pid}.tmp`;
  const result = spawnSync(gcc, ['-shared', '-fPIC', '-O2', '-Wall', '-o', temporary, SHIM_SOURCE, '-ldl'], { encoding: 'utf8' });
  if (result.status !== 0) {
    warn(`compiling ${SHIM_SOURCE} failed, pcscd runs WITHOUT TCP_NODELAY (slow): ${(result.stderr || result.error?.message || '').trim()}`);
    return undefined;
  }
  renameSync(temporary, output);
  return output;
}

async function vpcdReadersVisible(): Promise<boolean> {
  try {
    const names = new Set((await listPcscReaders()).map((reader) => reader.name));
    return VPCD_READERS.every((name) => names.has(name));
  } catch {
    return false;
  }
}

function logTail(logFile: string): string {
  try {
    const size = statSync(logFile).size;
    const length = Math.min(size, 2000);
    const buffer = Buffer.alloc(length);
    const fd = openSync(logFile, 'r');
    try {
      readSync(fd, buffer, 0, length, size - length);
    } finally {
      closeSync(fd);
    }
    return buffer.toString('utf8');
  } catch {
    return '';
  }
}

/**
 * Makes sure pcscd runs with the vpcd readers visible. Starts it when none runs; reuses a
 * running one (see the policy at the top of this file). Throws PcscdStackError when pcscd
 * cannot be started or its readers do not appear.
 */
export async function startPcscdStack(options: StartPcscdOptions = {}): Promise<PcscdStackInfo> {
  const warn = options.warn ?? defaultWarn;
  const wantNodelay = options.nodelay ?? true;
  const debug = options.debug ?? process.env.TESSERA_PCSCD_DEBUG === '1';

  const state = readState();
  const ours = state !== undefined && isPcscdProcess(state.pid) ? state : undefined;
  if (state !== undefined && ours === undefined) removeState();
  const runningPid = ours?.pid ?? runningPcscdPid();
  if (runningPid !== undefined || (await vpcdReadersVisible())) {
    if (!(await waitForReaders(runningPid, READY_TIMEOUT_MS))) {
      throw new PcscdStackError(`a pcscd (pid ${runningPid ?? 'unknown'}) runs but the vpcd readers ${VPCD_READERS.join(', ')} are not visible; stop it or install vsmartcard-vpcd`);
    }
    if (ours === undefined) {
      warn(`reusing a pcscd this script did not start (pid ${runningPid ?? 'unknown'}); it is left running and may lack TCP_NODELAY (slow APDUs).`);
    }
    return { pid: runningPid, startedNow: false, nodelay: ours?.nodelay ?? false, logFile: ours?.logFile };
  }

  const pcscd = findOnPath('pcscd');
  if (!pcscd) throw new PcscdStackError('pcscd is not installed (Debian: apt-get install pcscd vsmartcard-vpcd)');
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    throw new PcscdStackError('pcscd must be started as root (it creates /run/pcscd); run as root or start pcscd yourself');
  }
  if (!existsSync('/etc/reader.conf.d/vpcd')) {
    throw new PcscdStackError('/etc/reader.conf.d/vpcd is missing (Debian: apt-get install vsmartcard-vpcd)');
  }

  const shim = wantNodelay ? buildNodelayShim(warn) : undefined;
  mkdirSync(WORK_DIR, { recursive: true });
  const logFile = join(WORK_DIR, 'pcscd.log');
  const logFd = openSync(logFile, 'w', 0o600);
  const env = { ...process.env };
  if (shim) env.LD_PRELOAD = env.LD_PRELOAD ? `${shim}:${env.LD_PRELOAD}` : shim;
  const args = ['--foreground', ...(debug ? ['--debug', '--apdu'] : [])];
  const child = spawn(pcscd, args, { detached: true, stdio: ['ignore', logFd, logFd], env });
  closeSync(logFd);
  const pid = child.pid;
  let spawnError: Error | undefined;
  child.once('error', (error) => {
    spawnError = error;
  });
  child.unref();
  if (pid === undefined) throw new PcscdStackError(`cannot start ${pcscd}: ${spawnError?.message ?? 'no pid'}`);
  writeState({ pid, nodelay: shim !== undefined, logFile });

  if (!(await waitForReaders(pid, READY_TIMEOUT_MS))) {
    const tail = logTail(logFile);
    await stopPcscdStack();
    throw new PcscdStackError(`pcscd did not show the vpcd readers within ${READY_TIMEOUT_MS} ms; log ${logFile}:\n${tail}`);
  }
  return { pid, startedNow: true, nodelay: shim !== undefined, logFile };
}

async function waitForReaders(pid: number | undefined, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (pid !== undefined && !isPcscdProcess(pid)) return false;
    if (await vpcdReadersVisible()) return true;
    await sleep(100);
  }
  return false;
}

/** Stops the pcscd this script started (by the PID in its state file); does nothing otherwise. */
export async function stopPcscdStack(): Promise<boolean> {
  const state = readState();
  if (state === undefined) return false;
  removeState();
  if (!isPcscdProcess(state.pid)) return false;
  process.kill(state.pid, 'SIGTERM');
  const deadline = Date.now() + STOP_TIMEOUT_MS;
  while (isPcscdProcess(state.pid) && Date.now() < deadline) await sleep(50);
  if (isPcscdProcess(state.pid)) process.kill(state.pid, 'SIGKILL');
  return true;
}

const LOCK_DIR = join(WORK_DIR, 'interop.lock');

function lockOwner(): number | undefined {
  try {
    const pid = Number.parseInt(readFileSync(join(LOCK_DIR, 'owner'), 'utf8'), 10);
    return Number.isInteger(pid) ? pid : undefined;
  } catch {
    return undefined;
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Serialises whole test runs that use pcscd on this machine (two `vitest` runs would fight over
 * the same two vpcd readers). A lock left by a dead process is taken over. Returns the release.
 */
export async function acquirePcscdLock(options: { timeoutMs?: number; warn?: (message: string) => void } = {}): Promise<() => void> {
  const deadline = Date.now() + (options.timeoutMs ?? 15 * 60_000);
  let warned = false;
  mkdirSync(WORK_DIR, { recursive: true });
  for (;;) {
    try {
      mkdirSync(LOCK_DIR);
      writeFileSync(join(LOCK_DIR, 'owner'), String(process.pid));
      return () => {
        if (lockOwner() === process.pid) rmSync(LOCK_DIR, { recursive: true, force: true });
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw new PcscdStackError(`cannot create ${LOCK_DIR}: ${(error as Error).message}`, { cause: error });
    }
    const owner = lockOwner();
    if (owner !== undefined && !processAlive(owner)) {
      rmSync(LOCK_DIR, { recursive: true, force: true });
      continue;
    }
    if (Date.now() >= deadline) throw new PcscdStackError(`another test run (pid ${owner ?? 'unknown'}) holds ${LOCK_DIR}`);
    if (!warned) {
      (options.warn ?? defaultWarn)(`waiting for another test run using pcscd (pid ${owner ?? 'starting'}) to finish`);
      warned = true;
    }
    await sleep(owner === undefined ? 50 : 500);
  }
}

export interface PcscdStackStatus {
  running: boolean;
  pid: number | undefined;
  ours: boolean;
  nodelay: boolean;
  readersVisible: boolean;
  logFile: string | undefined;
}

export async function pcscdStackStatus(): Promise<PcscdStackStatus> {
  const state = readState();
  const ours = state !== undefined && isPcscdProcess(state.pid);
  const pid = ours ? state.pid : runningPcscdPid();
  return {
    running: pid !== undefined,
    pid,
    ours,
    nodelay: ours ? state.nodelay : false,
    readersVisible: await vpcdReadersVisible(),
    logFile: ours ? state.logFile : undefined,
  };
}

async function main(argv: string[]): Promise<number> {
  const command = argv[0];
  try {
    if (command === 'start') {
      const info = await startPcscdStack({ nodelay: !argv.includes('--no-nodelay'), debug: argv.includes('--debug') || undefined });
      process.stdout.write(`pcscd ${info.startedNow ? 'started' : 'already running'} (pid ${info.pid ?? 'unknown'}, TCP_NODELAY ${info.nodelay ? 'on' : 'off'}${info.logFile ? `, log ${info.logFile}` : ''})\n`);
      return 0;
    }
    if (command === 'stop') {
      process.stdout.write((await stopPcscdStack()) ? 'pcscd stopped\n' : 'no pcscd started by this script is running\n');
      return 0;
    }
    if (command === 'status') {
      const status = await pcscdStackStatus();
      process.stdout.write(`${JSON.stringify(status)}\n`);
      return status.running && status.readersVisible ? 0 : 1;
    }
    process.stderr.write('usage: pcscd-stack start [--no-nodelay] [--debug] | stop | status\n');
    return 2;
  } catch (error) {
    process.stderr.write(`pcscd-stack: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = await main(process.argv.slice(2));
}
