// The one base class of every error Tessera throws: callers switch on `code`, never on text.

export interface TesseraErrorOptions {
  cause?: unknown;
}

export abstract class TesseraError extends Error {
  /** Stable, documented identifier of the failure, e.g. `ERR_CARD_PIN_BLOCKED`. */
  abstract readonly code: string;

  constructor(message: string, options: TesseraErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
  }
}

export function isTesseraError(value: unknown): value is TesseraError {
  return value instanceof TesseraError;
}
