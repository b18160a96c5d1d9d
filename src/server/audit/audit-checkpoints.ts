// Checkpoints of the audit chain (head MAC, count, time) kept as files outside the database, so a truncated table shows.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { link, mkdir, open, readdir, readFile, rm, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { checkpointMac } from './audit-canonical.ts';
import { AuditCheckpointError } from './audit-errors.ts';

export interface AuditCheckpoint {
  /** Number of events in the chain when written = seq of its head event. */
  seq: number;
  headMac: string;
  at: string;
}

export interface CheckpointReading {
  checkpoints: AuditCheckpoint[];
  /** Files that are not authentic checkpoints (damaged, or MAC not made with the audit key). */
  invalid: string[];
}

const FILE_PATTERN = /^audit-checkpoint-(\d{12})\.json$/;
/** Older checkpoints add little once newer ones exist; a few are kept so one damaged file loses nothing. */
const KEEP = 20;

function fileName(seq: number): string {
  return `audit-checkpoint-${String(seq).padStart(12, '0')}.json`;
}

/** Writes a checkpoint atomically (temporary file, fsync, hard link; an existing one for the same seq is kept) and prunes old ones. */
export async function writeCheckpoint(dir: string, key: Uint8Array, checkpoint: AuditCheckpoint): Promise<void> {
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const body = { format: 'tessera-audit-checkpoint', version: 1, ...checkpoint, mac: checkpointMac(key, checkpoint.seq, checkpoint.headMac, checkpoint.at) };
    const temporary = join(dir, `.${fileName(checkpoint.seq)}.${randomBytes(6).toString('hex')}.tmp`);
    const handle = await open(temporary, 'wx', 0o600);
    try {
      await handle.writeFile(`${JSON.stringify(body)}\n`);
      await handle.sync();
    } finally {
      await handle.close();
    }
    try {
      // Never replace a checkpoint: after a truncation the server would re-append the same seq, and the old file is the evidence.
      await link(temporary, join(dir, fileName(checkpoint.seq)));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    } finally {
      await unlink(temporary);
    }
    const directory = await open(dir, 'r');
    try {
      await directory.sync();
    } finally {
      await directory.close();
    }
  } catch (error) {
    throw new AuditCheckpointError(`cannot write an audit checkpoint in ${dir}`, { cause: error });
  }
  const names = (await readdir(dir)).filter((n) => FILE_PATTERN.test(n)).sort();
  for (const name of names.slice(0, Math.max(0, names.length - KEEP))) await rm(join(dir, name), { force: true });
}

/** Reads every checkpoint file in the directory (none when the directory does not exist yet). */
export async function readCheckpoints(dir: string, key: Uint8Array): Promise<CheckpointReading> {
  let names: string[];
  try {
    names = (await readdir(dir)).filter((n) => FILE_PATTERN.test(n)).sort();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { checkpoints: [], invalid: [] };
    throw new AuditCheckpointError(`cannot read audit checkpoints in ${dir}`, { cause: error });
  }
  const reading: CheckpointReading = { checkpoints: [], invalid: [] };
  for (const name of names) {
    let text: string;
    try {
      text = await readFile(join(dir, name), 'utf8');
    } catch (error) {
      // Pruned by another server instance between readdir and read.
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw new AuditCheckpointError(`cannot read audit checkpoint ${name}`, { cause: error });
    }
    try {
      const parsed = JSON.parse(text) as { seq?: unknown; headMac?: unknown; at?: unknown; mac?: unknown };
      const { seq, headMac, at, mac } = parsed;
      if (typeof seq !== 'number' || typeof headMac !== 'string' || typeof at !== 'string' || typeof mac !== 'string' || !/^[0-9a-f]{64}$/.test(mac)) throw new TypeError('fields');
      if (!timingSafeEqual(Buffer.from(checkpointMac(key, seq, headMac, at), 'hex'), Buffer.from(mac, 'hex')) || fileName(seq) !== name) throw new TypeError('mac');
      reading.checkpoints.push({ seq, headMac, at });
    } catch {
      reading.invalid.push(name);
    }
  }
  return reading;
}
