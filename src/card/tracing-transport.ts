// APDU tracing at the transport, with the data of commands that carry secrets masked.
import type { CardTransport } from './card-transport.ts';

/** Instructions whose command data (and answer data) may hold a PIN, PUK, key or authentication token. */
const SECRET_INS: ReadonlySet<number> = new Set([
  0x20, // VERIFY
  0x24, // CHANGE REFERENCE DATA
  0x2c, // RESET RETRY COUNTER
  0x87, // GENERAL AUTHENTICATE
  0xdb, // PUT DATA (GIDS writes its admin key with it)
  0xfe, // IMPORT KEY (YubiKey)
  0xff, // SET MANAGEMENT KEY (YubiKey)
]);

export type TraceDirection = 'command' | 'response';

export interface TraceLine {
  direction: TraceDirection;
  /** Hex of the bytes, with secret data replaced by `**` pairs of the same length. */
  hex: string;
}

export type TraceSink = (line: TraceLine) => void;

const toHex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex').toUpperCase();
const masked = (length: number): string => '**'.repeat(length);

/** Hex of a command APDU, masking everything after the header of secret-carrying instructions. */
export function maskCommandForTrace(command: Uint8Array): string {
  if (command.length <= 5 || !SECRET_INS.has(command[1]!)) return toHex(command);
  return toHex(command.subarray(0, 4)) + masked(command.length - 4);
}

/** GET RESPONSE carries the rest of any earlier answer, possibly a secret one: its data is always masked. */
const INS_GET_RESPONSE = 0xc0;

export function maskResponseForTrace(command: Uint8Array, response: Uint8Array): string {
  const secret = command.length >= 2 && (SECRET_INS.has(command[1]!) || command[1] === INS_GET_RESPONSE);
  if (!secret || response.length <= 2) return toHex(response);
  return masked(response.length - 2) + toHex(response.subarray(response.length - 2));
}

/** A transport decorator that reports each exchange to a sink; the sink never sees secret data. */
export class TracingTransport implements CardTransport {
  constructor(
    private readonly inner: CardTransport,
    private readonly sink: TraceSink,
  ) {}

  async transmit(command: Uint8Array): Promise<Uint8Array> {
    this.sink({ direction: 'command', hex: maskCommandForTrace(command) });
    const response = await this.inner.transmit(command);
    this.sink({ direction: 'response', hex: maskResponseForTrace(command, response) });
    return response;
  }
}
