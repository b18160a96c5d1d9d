// ISO 7816-4 framing for software cards: parsing, command chaining in, 61xx response chaining out.
import { encodeResponseApdu, parseCommandApdu, type ApduEncoding } from '../card/apdu.ts';
import { TlvError } from '../card/card-errors.ts';
import { SW } from '../card/status-words.ts';
import { TesseraError } from '../errors.ts';

/** A command as an application sees it once chaining is undone. */
export interface CardCommand {
  cla: number;
  ins: number;
  p1: number;
  p2: number;
  data: Uint8Array;
  le: number | undefined;
  encoding: ApduEncoding;
}

export interface CardAnswer {
  data?: Uint8Array;
  sw: number;
}

/** Thrown inside a card application to answer with a status word and no data. */
export class StatusWordAnswer extends TesseraError {
  readonly code = 'ERR_VIRTUAL_CARD_STATUS_WORD';
  constructor(readonly sw: number) {
    super(`answer ${sw.toString(16)}`);
  }
}

export const answer = (sw: number, data?: Uint8Array): CardAnswer => (data ? { data, sw } : { sw });

const CLA_CHAINING = 0x10;
const INS_GET_RESPONSE = 0xc0;
const SHORT_RESPONSE_MAX = 256;
/** More pieces than any real chain needs (4 KB in 255-byte pieces is 17): empty pieces cannot pile up. */
const MAX_CHAIN_PIECES = 64;

export interface ApduFramingOptions {
  /** Largest command data accepted across a chain; more answers 6A84 (YubiKey objects are at most ~3 KB). */
  maxCommandData: number;
}

/**
 * Turns raw APDU bytes into whole commands for a card application and its answers back into
 * bytes. Malformed framing gets the status word a card would send; the application never sees it.
 */
export class ApduFraming {
  #chain: { ins: number; p1: number; p2: number; parts: Uint8Array[]; length: number } | undefined;
  #pendingResponse: Uint8Array | undefined;

  constructor(private readonly options: ApduFramingOptions) {}

  /** Forget chains and pending answers (reset, power off, application selected). */
  clear(): void {
    this.#chain = undefined;
    this.#pendingResponse = undefined;
  }

  process(bytes: Uint8Array, handle: (command: CardCommand) => CardAnswer): Uint8Array {
    let parsed;
    try {
      parsed = parseCommandApdu(bytes);
    } catch {
      this.clear();
      return swOnly(SW.WRONG_LENGTH);
    }
    const { cla, ins, p1, p2, data, le, encoding } = parsed;
    // This card knows only the interindustry class without secure messaging or logical channels.
    if ((cla & ~CLA_CHAINING) !== 0) {
      this.clear();
      if ((cla & 0x80) === 0 && (cla & 0x0c) !== 0) return swOnly(SW.SECURE_MESSAGING_NOT_SUPPORTED);
      if ((cla & 0x80) === 0 && (cla & 0x03) !== 0) return swOnly(SW.LOGICAL_CHANNEL_NOT_SUPPORTED);
      return swOnly(SW.CLA_NOT_SUPPORTED);
    }

    if (ins === INS_GET_RESPONSE && !(cla & CLA_CHAINING)) {
      const pending = this.#pendingResponse;
      if (!pending || p1 !== 0 || p2 !== 0 || data.length > 0) {
        this.clear();
        return swOnly(pending ? SW.INCORRECT_P1P2 : SW.CONDITIONS_NOT_SATISFIED);
      }
      return this.#respond({ data: pending, sw: SW.SUCCESS }, le, encoding);
    }
    this.#pendingResponse = undefined;

    if (cla & CLA_CHAINING) {
      const chain = this.#chain;
      if (chain && (chain.ins !== ins || chain.p1 !== p1 || chain.p2 !== p2)) this.#chain = undefined;
      const current = this.#chain ?? { ins, p1, p2, parts: [], length: 0 };
      if (current.length + data.length > this.options.maxCommandData || current.parts.length >= MAX_CHAIN_PIECES) {
        this.#chain = undefined;
        return swOnly(SW.NOT_ENOUGH_MEMORY);
      }
      current.parts.push(data);
      current.length += data.length;
      this.#chain = current;
      return swOnly(SW.SUCCESS);
    }

    let whole = data;
    const chain = this.#chain;
    this.#chain = undefined;
    if (chain && chain.ins === ins && chain.p1 === p1 && chain.p2 === p2) {
      if (chain.length + data.length > this.options.maxCommandData) return swOnly(SW.NOT_ENOUGH_MEMORY);
      whole = new Uint8Array(chain.length + data.length);
      let offset = 0;
      for (const part of [...chain.parts, data]) {
        whole.set(part, offset);
        offset += part.length;
      }
    } else if (data.length > this.options.maxCommandData) {
      return swOnly(SW.NOT_ENOUGH_MEMORY);
    }

    let result: CardAnswer;
    try {
      result = handle({ cla, ins, p1, p2, data: whole, le, encoding });
    } catch (error) {
      if (error instanceof StatusWordAnswer) return swOnly(error.sw);
      if (error instanceof TlvError) return swOnly(SW.INCORRECT_DATA);
      return swOnly(SW.NO_PRECISE_DIAGNOSIS);
    }
    return this.#respond(result, le, encoding);
  }

  /** Sends at most what one answer may carry; the rest waits for GET RESPONSE behind 61xx. */
  #respond(result: CardAnswer, le: number | undefined, encoding: ApduEncoding): Uint8Array {
    const data = result.data ?? new Uint8Array(0);
    const max = encoding === 'extended' ? Math.min(le ?? 65536, 65536) : Math.min(le ?? SHORT_RESPONSE_MAX, SHORT_RESPONSE_MAX);
    if (result.sw !== SW.SUCCESS || data.length <= max) {
      this.#pendingResponse = undefined;
      return encodeResponseApdu({ data, sw: result.sw });
    }
    const rest = data.subarray(max);
    this.#pendingResponse = rest;
    return encodeResponseApdu({ data: data.subarray(0, max), sw: SW.BYTES_REMAINING | (rest.length > 255 ? 0 : rest.length) });
  }
}

function swOnly(sw: number): Uint8Array {
  return Uint8Array.of(sw >> 8, sw & 0xff);
}
