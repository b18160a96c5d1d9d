// ISO 7816-4 command and response APDUs: short and extended encodings, both directions.
import { ApduFormatError } from './card-errors.ts';

export interface CommandApdu {
  cla: number;
  ins: number;
  p1: number;
  p2: number;
  /** Command data (Lc is its length); empty for cases 1 and 2. */
  data?: Uint8Array;
  /** Expected response length; undefined = absent; 256 (short) or 65536 (extended) = "all". */
  le?: number;
}

export interface ResponseApdu {
  data: Uint8Array;
  sw: number;
}

export type ApduEncoding = 'short' | 'extended';

const EMPTY = new Uint8Array(0);

function checkByte(name: string, value: number): void {
  if (!Number.isInteger(value) || value < 0 || value > 0xff) {
    throw new ApduFormatError(`${name} must be a byte, got ${value}`);
  }
}

/**
 * Encodes a command APDU. Short encoding carries up to 255 data bytes and Le up to 256;
 * extended up to 65535 and 65536. Longer data needs command chaining, done by the connection.
 */
export function encodeCommandApdu(command: CommandApdu, encoding: ApduEncoding = 'short'): Uint8Array {
  checkByte('CLA', command.cla);
  checkByte('INS', command.ins);
  checkByte('P1', command.p1);
  checkByte('P2', command.p2);
  const data = command.data ?? EMPTY;
  const le = command.le;
  const header = [command.cla, command.ins, command.p1, command.p2];
  if (encoding === 'short') {
    if (data.length > 255) throw new ApduFormatError(`short APDU data is at most 255 bytes, got ${data.length}`);
    if (le !== undefined && (le < 1 || le > 256)) throw new ApduFormatError(`short Le must be 1..256, got ${le}`);
    const out: number[] = [...header];
    if (data.length > 0) out.push(data.length, ...data);
    if (le !== undefined) out.push(le & 0xff);
    return Uint8Array.from(out);
  }
  if (data.length > 65535) throw new ApduFormatError(`extended APDU data is at most 65535 bytes, got ${data.length}`);
  if (le !== undefined && (le < 1 || le > 65536)) throw new ApduFormatError(`extended Le must be 1..65536, got ${le}`);
  const out: number[] = [...header];
  if (data.length > 0) {
    out.push(0, data.length >> 8, data.length & 0xff, ...data);
    if (le !== undefined) out.push((le >> 8) & 0xff, le & 0xff);
  } else if (le !== undefined) {
    out.push(0, (le >> 8) & 0xff, le & 0xff);
  }
  return Uint8Array.from(out);
}

/**
 * Parses the bytes of a command APDU (cases 1, 2S, 3S, 4S, 2E, 3E, 4E).
 * Throws ApduFormatError when the length bytes do not agree with the APDU's size.
 */
export function parseCommandApdu(bytes: Uint8Array): CommandApdu & { data: Uint8Array; encoding: ApduEncoding } {
  if (bytes.length < 4) throw new ApduFormatError(`a command APDU has at least 4 bytes, got ${bytes.length}`);
  const [cla, ins, p1, p2] = [bytes[0]!, bytes[1]!, bytes[2]!, bytes[3]!];
  const body = bytes.subarray(4);
  const base = { cla, ins, p1, p2 };
  if (body.length === 0) return { ...base, data: EMPTY, encoding: 'short' };
  if (body.length === 1) return { ...base, data: EMPTY, le: body[0] === 0 ? 256 : body[0]!, encoding: 'short' };
  const first = body[0]!;
  if (first !== 0) {
    // Short case 3 or 4: Lc, data, optional Le.
    const lc = first;
    if (body.length === 1 + lc) return { ...base, data: body.slice(1, 1 + lc), encoding: 'short' };
    if (body.length === 2 + lc) {
      const le = body[1 + lc]!;
      return { ...base, data: body.slice(1, 1 + lc), le: le === 0 ? 256 : le, encoding: 'short' };
    }
    throw new ApduFormatError(`Lc ${lc} does not match ${body.length - 1} remaining bytes`);
  }
  // First body byte 00: extended length (or a short Lc of 0, which ISO 7816 does not allow).
  if (body.length === 3) {
    const le = (body[1]! << 8) | body[2]!;
    return { ...base, data: EMPTY, le: le === 0 ? 65536 : le, encoding: 'extended' };
  }
  if (body.length < 3) throw new ApduFormatError('truncated extended length field');
  const lc = (body[1]! << 8) | body[2]!;
  if (lc === 0) throw new ApduFormatError('extended Lc of zero');
  if (body.length === 3 + lc) return { ...base, data: body.slice(3, 3 + lc), encoding: 'extended' };
  if (body.length === 5 + lc) {
    const le = (body[3 + lc]! << 8) | body[4 + lc]!;
    return { ...base, data: body.slice(3, 3 + lc), le: le === 0 ? 65536 : le, encoding: 'extended' };
  }
  throw new ApduFormatError(`extended Lc ${lc} does not match ${body.length - 3} remaining bytes`);
}

/** Splits raw response bytes into data and status word. */
export function parseResponseApdu(bytes: Uint8Array): ResponseApdu {
  if (bytes.length < 2) throw new ApduFormatError(`a response APDU has at least 2 bytes, got ${bytes.length}`);
  const n = bytes.length;
  return { data: bytes.slice(0, n - 2), sw: (bytes[n - 2]! << 8) | bytes[n - 1]! };
}

export function encodeResponseApdu(response: ResponseApdu): Uint8Array {
  const out = new Uint8Array(response.data.length + 2);
  out.set(response.data, 0);
  out[response.data.length] = response.sw >> 8;
  out[response.data.length + 1] = response.sw & 0xff;
  return out;
}
