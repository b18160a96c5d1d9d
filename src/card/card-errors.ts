// Typed errors of the card layer: each status word that means something becomes one of these, once.
import { TesseraError, type TesseraErrorOptions } from '../errors.ts';
import { describeStatusWord } from './status-words.ts';

/** A card answered with a status word the session did not expect. */
export class CardStatusError extends TesseraError {
  readonly code: string = 'ERR_CARD_STATUS';
  constructor(
    readonly sw: number,
    operation: string,
    options?: TesseraErrorOptions,
  ) {
    super(`${operation} failed: card answered ${describeStatusWord(sw)}`, options);
  }
}

/** A wrong PIN was presented; `triesLeft` more may be made before the PIN blocks. */
export class InvalidPinError extends TesseraError {
  readonly code = 'ERR_CARD_PIN_INVALID';
  constructor(readonly triesLeft: number) {
    super(`wrong PIN, ${triesLeft} ${triesLeft === 1 ? 'try' : 'tries'} left`);
  }
}

export class InvalidPukError extends TesseraError {
  readonly code = 'ERR_CARD_PUK_INVALID';
  constructor(readonly triesLeft: number) {
    super(`wrong PUK, ${triesLeft} ${triesLeft === 1 ? 'try' : 'tries'} left`);
  }
}

export class PinBlockedError extends TesseraError {
  readonly code = 'ERR_CARD_PIN_BLOCKED';
  constructor() {
    super('the PIN is blocked');
  }
}

export class PukBlockedError extends TesseraError {
  readonly code = 'ERR_CARD_PUK_BLOCKED';
  constructor() {
    super('the PUK is blocked');
  }
}

/** A PIN or PUK the card cannot take (length, characters), refused before or by the card. */
export class PinFormatError extends TesseraError {
  readonly code = 'ERR_CARD_PIN_FORMAT';
}

/** Management-key or admin-key authentication failed (`6982` to the host's answer). */
export class AuthenticationFailedError extends TesseraError {
  readonly code = 'ERR_CARD_AUTHENTICATION_FAILED';
}

/** The card refused an operation because the needed PIN or key has not been presented. */
export class SecurityStatusError extends TesseraError {
  readonly code = 'ERR_CARD_SECURITY_STATUS';
  constructor(operation: string) {
    super(`${operation} refused: the card needs the PIN or management key first`);
  }
}

/** The card (or this firmware) does not offer the operation. */
export class NotSupportedError extends TesseraError {
  readonly code = 'ERR_CARD_NOT_SUPPORTED';
}

/** SELECT found no such application on the card. */
export class ApplicationNotFoundError extends TesseraError {
  readonly code = 'ERR_CARD_APPLICATION_NOT_FOUND';
}

/** A data object or key slot is empty. */
export class DataObjectNotFoundError extends TesseraError {
  readonly code = 'ERR_CARD_OBJECT_NOT_FOUND';
}

/** The card's answer does not have the structure the protocol promises. */
export class InvalidResponseError extends TesseraError {
  readonly code = 'ERR_CARD_INVALID_RESPONSE';
}

/** A BER-TLV structure is truncated or malformed. */
export class TlvError extends TesseraError {
  readonly code = 'ERR_TLV_MALFORMED';
}

/** An APDU cannot be encoded or parsed (lengths out of range, truncated bytes). */
export class ApduFormatError extends TesseraError {
  readonly code = 'ERR_APDU_FORMAT';
}

/** The card was removed, reset or powered off during an operation. */
export class CardRemovedError extends TesseraError {
  readonly code = 'ERR_CARD_REMOVED';
}

/** The transport to the card failed (reader gone, connection closed). */
export class TransportError extends TesseraError {
  readonly code = 'ERR_CARD_TRANSPORT';
}

/** A caller passed an argument the protocol cannot carry (wrong key length, unknown slot). */
export class InvalidArgumentError extends TesseraError {
  readonly code = 'ERR_CARD_INVALID_ARGUMENT';
}

/** A GIDS card still in initialisation mode (blank, as it left the factory) refused an operation that needs PIN and admin key set. */
export class CardNotInitialisedError extends TesseraError {
  readonly code = 'ERR_CARD_NOT_INITIALISED';
}

/** Initialisation was asked of a card that already carries a file system (initialising twice would destroy its credential). */
export class CardAlreadyInitialisedError extends TesseraError {
  readonly code = 'ERR_CARD_ALREADY_INITIALISED';
}
