import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeTlv, decodeTlvMap, decodeTlvs, encodeTlv } from './tlv.ts';

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex').toUpperCase();
const bytes = (text: string) => Uint8Array.from(Buffer.from(text, 'hex'));

describe('BER-TLV', () => {
  it('encodes one-, two- and three-byte tags and long lengths', () => {
    expect(hex(encodeTlv(0x7c, bytes('8000')))).toBe('7C028000');
    expect(hex(encodeTlv(0x7f49, new Uint8Array(0)))).toBe('7F4900');
    expect(hex(encodeTlv(0x5fc102, new Uint8Array(0)))).toBe('5FC10200');
    expect(hex(encodeTlv(0x53, new Uint8Array(200)).subarray(0, 3))).toBe('5381C8');
    expect(hex(encodeTlv(0x53, new Uint8Array(300)).subarray(0, 4))).toBe('5382012C');
  });

  it('decodes what it encodes', () => {
    fc.assert(
      fc.property(fc.constantFrom(0x53, 0x7c, 0x7f49, 0x5fc105, 0x9f7f), fc.uint8Array({ maxLength: 70000 }), (tag, value) => {
        const decoded = decodeTlv(encodeTlv(tag, value));
        expect(decoded.tag).toBe(tag);
        expect(decoded.value.length).toBe(value.length);
      }),
      { numRuns: 200 },
    );
  });

  it('refuses truncated and malformed input with ERR_TLV_MALFORMED', () => {
    for (const bad of ['7C', '7C05800100', '5F', '5FC1', '7C8401000000', '7C80', '5382010000', '9F7F80']) {
      expect(() => decodeTlvs(bytes(bad))).toThrowError(expect.objectContaining({ code: 'ERR_TLV_MALFORMED' }));
    }
    expect(() => decodeTlv(bytes('8000' + '8100'))).toThrowError(expect.objectContaining({ code: 'ERR_TLV_MALFORMED' }));
    expect(() => decodeTlvMap(bytes('80008000'))).toThrowError(expect.objectContaining({ code: 'ERR_TLV_MALFORMED' }));
  });

  it('never throws anything but a TlvError on random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (input) => {
        try {
          decodeTlvs(input);
        } catch (error) {
          expect((error as { code?: string }).code).toBe('ERR_TLV_MALFORMED');
        }
      }),
      { numRuns: 5000 },
    );
  });
});
