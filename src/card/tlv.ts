// BER-TLV (ISO 7816-4 / X.690 subset used by smart cards): multi-byte tags, definite lengths.
import { TlvError } from './card-errors.ts';

export interface Tlv {
  tag: number;
  value: Uint8Array;
}

/** Encodes a tag number (1 to 3 bytes, as written in the specs: 0x7C, 0x5FC102, 0x7F49). */
function encodeTag(tag: number): number[] {
  if (!Number.isInteger(tag) || tag < 0 || tag > 0xffffff) throw new TlvError(`tag out of range: ${tag}`);
  if (tag > 0xffff) return [tag >> 16, (tag >> 8) & 0xff, tag & 0xff];
  if (tag > 0xff) return [tag >> 8, tag & 0xff];
  return [tag];
}

export function encodeLength(length: number): number[] {
  if (length < 0x80) return [length];
  if (length <= 0xff) return [0x81, length];
  if (length <= 0xffff) return [0x82, length >> 8, length & 0xff];
  if (length <= 0xffffff) return [0x83, length >> 16, (length >> 8) & 0xff, length & 0xff];
  throw new TlvError(`TLV value too long: ${length} bytes`);
}

export function encodeTlv(tag: number, value: Uint8Array = new Uint8Array(0)): Uint8Array {
  const head = [...encodeTag(tag), ...encodeLength(value.length)];
  const out = new Uint8Array(head.length + value.length);
  out.set(head, 0);
  out.set(value, head.length);
  return out;
}

export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  let total = 0;
  for (const p of parts) total += p.length;
  const out = new Uint8Array(total);
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

/** Encodes several TLVs one after the other. */
export function encodeTlvs(...items: Tlv[]): Uint8Array {
  return concatBytes(...items.map((t) => encodeTlv(t.tag, t.value)));
}

interface Decoded {
  tlv: Tlv;
  next: number;
}

function decodeOne(bytes: Uint8Array, offset: number): Decoded {
  let i = offset;
  const at = (what: string): number => {
    if (i >= bytes.length) throw new TlvError(`truncated TLV: ${what} missing at offset ${i}`);
    return bytes[i++]!;
  };
  let tag = at('tag');
  if ((tag & 0x1f) === 0x1f) {
    // Subsequent tag bytes follow while bit 8 is set; cards use at most 3 tag bytes.
    let b: number;
    let count = 0;
    do {
      b = at('tag');
      tag = (tag << 8) | b;
      if (++count > 2) throw new TlvError('tag longer than 3 bytes');
    } while (b & 0x80);
  }
  const first = at('length');
  let length: number;
  if (first < 0x80) {
    length = first;
  } else {
    const n = first & 0x7f;
    if (n === 0 || n > 3) throw new TlvError(`unsupported length form 0x${first.toString(16)}`);
    length = 0;
    for (let k = 0; k < n; k++) length = (length << 8) | at('length');
  }
  if (i + length > bytes.length) {
    throw new TlvError(`truncated TLV: tag 0x${tag.toString(16)} declares ${length} bytes, ${bytes.length - i} present`);
  }
  return { tlv: { tag, value: bytes.subarray(i, i + length) }, next: i + length };
}

/** Decodes a sequence of TLVs that must fill `bytes` exactly. */
export function decodeTlvs(bytes: Uint8Array): Tlv[] {
  const out: Tlv[] = [];
  let offset = 0;
  while (offset < bytes.length) {
    const { tlv, next } = decodeOne(bytes, offset);
    out.push(tlv);
    offset = next;
  }
  return out;
}

/** Decodes exactly one TLV spanning all of `bytes`. */
export function decodeTlv(bytes: Uint8Array): Tlv {
  const { tlv, next } = decodeOne(bytes, 0);
  if (next !== bytes.length) throw new TlvError(`${bytes.length - next} trailing bytes after TLV`);
  return tlv;
}

/** Decodes TLVs into a map by tag; a repeated tag is malformed here. */
export function decodeTlvMap(bytes: Uint8Array): Map<number, Uint8Array> {
  const map = new Map<number, Uint8Array>();
  for (const { tag, value } of decodeTlvs(bytes)) {
    if (map.has(tag)) throw new TlvError(`tag 0x${tag.toString(16)} repeated`);
    map.set(tag, value);
  }
  return map;
}

/** Value of `tag` in a map from decodeTlvMap, or a TlvError naming what is missing. */
export function requireTag(map: Map<number, Uint8Array>, tag: number, what: string): Uint8Array {
  const value = map.get(tag);
  if (value === undefined) throw new TlvError(`${what}: tag 0x${tag.toString(16).toUpperCase()} missing`);
  return value;
}
