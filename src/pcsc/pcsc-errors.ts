// Errors of the PC/SC layer that are not card errors: no service, unknown reader, no card, card in use.
import { TesseraError } from '../errors.ts';
import { CardRemovedError, TransportError } from '../card/card-errors.ts';

/** pcscd is not running or cannot be reached. */
export class PcscUnavailableError extends TesseraError {
  readonly code = 'ERR_PCSC_UNAVAILABLE';
}

export class ReaderNotFoundError extends TesseraError {
  readonly code = 'ERR_PCSC_READER_NOT_FOUND';
  constructor(
    readonly readerName: string,
    available: readonly string[],
  ) {
    super(`no reader named "${readerName}" (readers: ${available.length === 0 ? 'none' : available.map((name) => `"${name}"`).join(', ')})`);
  }
}

/** No card came into the reader before the deadline. */
export class NoCardError extends TesseraError {
  readonly code = 'ERR_PCSC_NO_CARD';
}

/** Another application holds the card (exclusive connection refused). */
export class CardInUseError extends TesseraError {
  readonly code = 'ERR_PCSC_CARD_IN_USE';
}

/** PC/SC failures that mean the card is gone or was reset under us (messages of the `smartcard` binding). */
const CARD_GONE_MESSAGES = new Set(['Card was removed', 'Card was reset', 'Card is unpowered', 'No smart card present', 'Card is unresponsive']);
const NO_SERVICE_MESSAGES = new Set(['PC/SC service not running', 'PC/SC service stopped', 'Context is not valid']);

/** The one place a binding error becomes a typed Tessera error. */
export function translatePcscError(error: unknown, operation: string): TesseraError {
  if (error instanceof TesseraError) return error;
  const message = error instanceof Error ? error.message : String(error);
  if (CARD_GONE_MESSAGES.has(message)) return new CardRemovedError(`${operation}: ${message.toLowerCase()}`, { cause: error });
  if (NO_SERVICE_MESSAGES.has(message)) return new PcscUnavailableError(`${operation}: ${message} (is pcscd running?)`, { cause: error });
  if (message === 'Sharing violation') return new CardInUseError(`${operation}: the card is in use by another application`, { cause: error });
  return new TransportError(`${operation}: ${message}`, { cause: error });
}
