// Sends APDUs over a transport: command chaining, 61xx GET RESPONSE and 6Cxx retries as wrappers.
import { encodeCommandApdu, parseResponseApdu, type ApduEncoding, type CommandApdu, type ResponseApdu } from './apdu.ts';
import { InvalidResponseError } from './card-errors.ts';
import type { CardTransport } from './card-transport.ts';
import { SW } from './status-words.ts';
import { concatBytes } from './tlv.ts';

const INS_GET_RESPONSE = 0xc0;
const CLA_CHAINING = 0x10;
const SHORT_CHUNK = 255;
/** Upper bound on GET RESPONSE rounds, so a card that always answers 61xx cannot loop us forever. */
const MAX_RESPONSE_ROUNDS = 512;

export interface ApduConnectionOptions {
  /** `short` (default) chains long data in 255-byte pieces; `extended` sends it in one APDU. */
  encoding?: ApduEncoding;
}

/**
 * An APDU-level view of a transport. Long data is sent with command chaining (short encoding)
 * or as one extended APDU; long answers are collected through GET RESPONSE.
 */
export class ApduConnection {
  readonly encoding: ApduEncoding;
  #apduCount = 0;

  constructor(
    readonly transport: CardTransport,
    options: ApduConnectionOptions = {},
  ) {
    this.encoding = options.encoding ?? 'short';
  }

  /** Number of APDUs sent so far (benchmarks report it per operation). */
  get apduCount(): number {
    return this.#apduCount;
  }

  /** Sends a command; returns the final status word and all response data. Never throws on a status word. */
  async send(command: CommandApdu): Promise<ResponseApdu> {
    const data = command.data ?? new Uint8Array(0);
    const maxChunk = this.encoding === 'short' ? SHORT_CHUNK : 65535;
    let offset = 0;
    // Every piece but the last goes with the chaining bit; the card answers each with 9000.
    while (data.length - offset > maxChunk) {
      const piece = data.subarray(offset, offset + maxChunk);
      const response = await this.#exchange({ ...command, cla: command.cla | CLA_CHAINING, data: piece, le: undefined });
      if (response.sw !== SW.SUCCESS) return response;
      offset += maxChunk;
    }
    return this.#collect({ ...command, data: data.subarray(offset) }, offset > 0);
  }

  async #collect(command: CommandApdu, chained: boolean): Promise<ResponseApdu> {
    let response = await this.#exchange(command);
    // After a chain the card has dropped the earlier pieces: repeating the last one alone would be a different command.
    if ((response.sw & 0xff00) === SW.WRONG_LE && !chained) {
      // 6Cxx: the card tells us the exact Le; send the same command again with it.
      response = await this.#exchange({ ...command, le: response.sw & 0xff || 256 });
    }
    const parts: Uint8Array[] = [response.data];
    let rounds = 0;
    while ((response.sw & 0xff00) === SW.BYTES_REMAINING) {
      if (++rounds > MAX_RESPONSE_ROUNDS) throw new InvalidResponseError('card keeps answering 61xx');
      const le = response.sw & 0xff || 256;
      const getResponse: CommandApdu = { cla: command.cla & ~CLA_CHAINING & 0xff, ins: INS_GET_RESPONSE, p1: 0, p2: 0, le };
      response = await this.#exchange(getResponse);
      if ((response.sw & 0xff00) === SW.WRONG_LE) response = await this.#exchange({ ...getResponse, le: response.sw & 0xff || 256 });
      parts.push(response.data);
    }
    return { data: parts.length === 1 ? parts[0]! : concatBytes(...parts), sw: response.sw };
  }

  async #exchange(command: CommandApdu): Promise<ResponseApdu> {
    this.#apduCount++;
    const raw = await this.transport.transmit(encodeCommandApdu(command, this.encoding));
    return parseResponseApdu(raw);
  }
}
