// PC/SC readers: list them with their card state, and wait for a card (or its removal) in one.
import { setTimeout as sleep } from 'node:timers/promises';
import { Context, SCARD_STATE_PRESENT, SCARD_STATE_EXCLUSIVE, SCARD_STATE_INUSE, SCARD_STATE_MUTE, type ContextInterface, type ReaderInterface } from 'smartcard';
import { NoCardError, ReaderNotFoundError, translatePcscError } from './pcsc-errors.ts';

export interface PcscReaderInfo {
  name: string;
  cardPresent: boolean;
  /** The card's answer to reset, when a card is present and powered. */
  atr: Uint8Array | undefined;
  /** Another application holds the card exclusively. */
  exclusive: boolean;
  inUse: boolean;
  /** A card is present but does not answer (no ATR). */
  mute: boolean;
}

/** Opens a PC/SC context; PcscUnavailableError when pcscd is not reachable. */
export function openPcscContext(): ContextInterface {
  try {
    return new Context();
  } catch (error) {
    throw translatePcscError(error, 'cannot reach the PC/SC service');
  }
}

function describeReader(reader: ReaderInterface): PcscReaderInfo {
  const state = reader.state;
  const present = (state & SCARD_STATE_PRESENT) !== 0;
  return {
    name: reader.name,
    cardPresent: present,
    atr: present && reader.atr ? new Uint8Array(reader.atr) : undefined,
    exclusive: (state & SCARD_STATE_EXCLUSIVE) !== 0,
    inUse: (state & SCARD_STATE_INUSE) !== 0,
    mute: (state & SCARD_STATE_MUTE) !== 0,
  };
}

/** Every reader pcscd knows, in its order, with its card state. */
export async function listPcscReaders(): Promise<PcscReaderInfo[]> {
  const context = openPcscContext();
  try {
    return context.listReaders().map(describeReader);
  } catch (error) {
    throw translatePcscError(error, 'cannot list readers');
  } finally {
    context.close();
  }
}

export async function findPcscReader(readerName: string): Promise<PcscReaderInfo> {
  const readers = await listPcscReaders();
  const reader = readers.find((candidate) => candidate.name === readerName);
  if (!reader) throw new ReaderNotFoundError(readerName, readers.map((candidate) => candidate.name));
  return reader;
}

export interface WaitOptions {
  /** Give up after this long (default 10 s). */
  timeoutMs?: number;
  /** Wait for this exact ATR (a card just attached, not the one before). */
  atr?: Uint8Array;
}

const POLL_MS = 50;

/**
 * Waits until a powered card (with an ATR) is in the reader. Polls, because a blocking
 * SCardGetStatusChange would hold one of libuv's few worker threads for the whole wait.
 */
export async function waitForCard(readerName: string, options: WaitOptions = {}): Promise<PcscReaderInfo> {
  const deadline = Date.now() + (options.timeoutMs ?? 10_000);
  for (;;) {
    const reader = await findPcscReader(readerName);
    if (reader.cardPresent && reader.atr !== undefined && (options.atr === undefined || Buffer.from(reader.atr).equals(Buffer.from(options.atr)))) {
      return reader;
    }
    if (Date.now() >= deadline) throw new NoCardError(`no card in reader "${readerName}" after ${options.timeoutMs ?? 10_000} ms`);
    await sleep(POLL_MS);
  }
}

/** Waits until the reader is empty. */
export async function waitForCardRemoval(readerName: string, options: { timeoutMs?: number } = {}): Promise<void> {
  const deadline = Date.now() + (options.timeoutMs ?? 10_000);
  for (;;) {
    const reader = await findPcscReader(readerName);
    if (!reader.cardPresent) return;
    if (Date.now() >= deadline) throw new NoCardError(`the card stays in reader "${readerName}" after ${options.timeoutMs ?? 10_000} ms`);
    await sleep(POLL_MS);
  }
}
