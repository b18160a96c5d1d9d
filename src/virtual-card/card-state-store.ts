// Where a virtual card keeps its state: a file (atomic writes, mode 0600) or memory (tests, benchmarks).
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { TesseraError } from '../errors.ts';

/** The card's persistent state, serialised as JSON text by the card itself. */
export interface CardStateStore {
  /** The stored text, or undefined when nothing has been stored yet. */
  load(): string | undefined;
  /** Stores the text; when this returns, the state survives a crash. */
  save(text: string): void;
}

export class StateFileError extends TesseraError {
  readonly code: string;
  constructor(code: 'ERR_STATE_FILE_MISSING' | 'ERR_STATE_FILE_CORRUPT' | 'ERR_STATE_FILE_EXISTS' | 'ERR_STATE_FILE_IO', message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

export class MemoryStateStore implements CardStateStore {
  #text: string | undefined;
  saves = 0;

  constructor(text?: string) {
    this.#text = text;
  }

  load(): string | undefined {
    return this.#text;
  }

  save(text: string): void {
    this.#text = text;
    this.saves++;
  }
}

/** A state file written atomically: temporary file in the same folder, fsync, rename, fsync of the folder. */
export class FileStateStore implements CardStateStore {
  constructor(readonly path: string) {}

  load(): string | undefined {
    try {
      return readFileSync(this.path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new StateFileError('ERR_STATE_FILE_IO', `cannot read state file ${this.path}: ${(error as Error).message}`, { cause: error });
    }
  }

  save(text: string): void {
    const temporary = join(dirname(this.path), `.${basename(this.path)}.${process.pid}.tmp`);
    try {
      const fd = openSync(temporary, 'w', 0o600);
      try {
        writeSync(fd, text);
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      renameSync(temporary, this.path);
      const dir = openSync(dirname(this.path), 'r');
      try {
        fsyncSync(dir);
      } finally {
        closeSync(dir);
      }
    } catch (error) {
      try {
        unlinkSync(temporary);
      } catch {
        // The temporary file may not exist; the original state file is untouched either way.
      }
      throw new StateFileError('ERR_STATE_FILE_IO', `cannot write state file ${this.path}: ${(error as Error).message}`, { cause: error });
    }
  }
}
