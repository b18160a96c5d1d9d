// CardTransport over a PC/SC reader (real cards, and virtual cards attached to pcscd through vpcd).
import {
  SCARD_LEAVE_CARD,
  SCARD_PROTOCOL_T0,
  SCARD_PROTOCOL_T1,
  SCARD_RESET_CARD,
  SCARD_SHARE_EXCLUSIVE,
  SCARD_SHARE_SHARED,
  type CardInterface,
  type ContextInterface,
} from 'smartcard';
import { CardRemovedError, TransportError } from '../card/card-errors.ts';
import type { CardTransport } from '../card/card-transport.ts';
import { ReaderNotFoundError, translatePcscError } from './pcsc-errors.ts';
import { openPcscContext } from './pcsc-readers.ts';

export interface PcscConnectOptions {
  /** Exclusive (default): no other application talks to the card until close(). */
  exclusive?: boolean;
}

/** Room for an extended-length answer (65536 data bytes + SW). */
const MAX_RESPONSE_LENGTH = 65538;

export class PcscTransport implements CardTransport {
  #context: ContextInterface | undefined;
  #card: CardInterface | undefined;

  private constructor(
    readonly readerName: string,
    readonly atr: Uint8Array,
    context: ContextInterface,
    card: CardInterface,
  ) {
    this.#context = context;
    this.#card = card;
  }

  /** Connects to the card in the named reader (T=0 or T=1). */
  static async connect(readerName: string, options: PcscConnectOptions = {}): Promise<PcscTransport> {
    const context = openPcscContext();
    try {
      const readers = context.listReaders();
      const reader = readers.find((candidate) => candidate.name === readerName);
      if (!reader) throw new ReaderNotFoundError(readerName, readers.map((candidate) => candidate.name));
      const shareMode = options.exclusive === false ? SCARD_SHARE_SHARED : SCARD_SHARE_EXCLUSIVE;
      const card = await reader.connect(shareMode, SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1);
      const atr = card.atr ?? card.getStatus().atr;
      return new PcscTransport(readerName, new Uint8Array(atr), context, card);
    } catch (error) {
      context.close();
      throw translatePcscError(error, `cannot connect to the card in "${readerName}"`);
    }
  }

  get connected(): boolean {
    return this.#card !== undefined;
  }

  async transmit(command: Uint8Array): Promise<Uint8Array> {
    const card = this.#card;
    if (card === undefined) throw new TransportError(`the connection to "${this.readerName}" is closed`);
    let response: Buffer;
    try {
      response = await card.transmit(Buffer.from(command), { maxRecvLength: MAX_RESPONSE_LENGTH });
    } catch (error) {
      // Mid-operation, callers need two outcomes only: the card went away, or the transport failed.
      const translated = translatePcscError(error, `transmit to "${this.readerName}"`);
      throw translated instanceof CardRemovedError || translated instanceof TransportError ? translated : new TransportError(translated.message, { cause: error });
    }
    if (response.length < 2) throw new TransportError(`"${this.readerName}" answered ${response.length} bytes, less than a status word`);
    return new Uint8Array(response);
  }

  /**
   * Ends the connection. `reset: true` resets the card so no security status (verified PIN,
   * authenticated admin key) outlives this connection. Never throws: closing a connection to a
   * card already removed is normal.
   *
   * The reset goes through the asynchronous SCardReconnect, never a resetting SCardDisconnect:
   * the binding's disconnect blocks the JavaScript thread while pcscd waits for the card, and a
   * virtual card served from this same process (tests, `card serve` in-process) could then never
   * answer — a deadlock that vpcd, having no timeout, never breaks.
   */
  async close(options: { reset?: boolean } = {}): Promise<void> {
    const card = this.#card;
    const context = this.#context;
    this.#card = undefined;
    this.#context = undefined;
    if (card !== undefined && options.reset) {
      try {
        await card.reconnect(SCARD_SHARE_SHARED, SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1, SCARD_RESET_CARD);
      } catch {
        // The card or reader is already gone: nothing is left to reset.
      }
    }
    try {
      card?.disconnect(SCARD_LEAVE_CARD);
    } catch {
      // The card or reader is already gone.
    }
    try {
      context?.close();
    } catch {
      // The service is already gone.
    }
  }
}
