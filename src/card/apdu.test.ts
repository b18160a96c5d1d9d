import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeCommandApdu, parseCommandApdu, parseResponseApdu } from './apdu.ts';

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex').toUpperCase();
const bytes = (text: string) => Uint8Array.from(Buffer.from(text, 'hex'));

describe('command APDU encoding', () => {
  it('encodes the four short cases', () => {
    expect(hex(encodeCommandApdu({ cla: 0, ins: 0x20, p1: 0, p2: 0x80 }))).toBe('00200080');
    expect(hex(encodeCommandApdu({ cla: 0, ins: 0xfd, p1: 0, p2: 0, le: 256 }))).toBe('00FD000000');
    expect(hex(encodeCommandApdu({ cla: 0, ins: 0xa4, p1: 4, p2: 0, data: bytes('A000000308') }))).toBe('00A4040005A000000308');
    expect(hex(encodeCommandApdu({ cla: 0, ins: 0xcb, p1: 0x3f, p2: 0xff, data: bytes('5C017E'), le: 256 }))).toBe('00CB3FFF035C017E00');
  });

  it('encodes the extended cases as ykman sends them', () => {
    expect(hex(encodeCommandApdu({ cla: 0, ins: 0xfd, p1: 0, p2: 0, le: 65536 }, 'extended'))).toBe('00FD0000000000');
    expect(hex(encodeCommandApdu({ cla: 0, ins: 0xa4, p1: 4, p2: 0, data: bytes('A000000308') }, 'extended'))).toBe('00A404000000' + '05A000000308');
  });

  it('refuses lengths the encoding cannot carry', () => {
    expect(() => encodeCommandApdu({ cla: 0, ins: 0xdb, p1: 0, p2: 0, data: new Uint8Array(256) })).toThrowError(expect.objectContaining({ code: 'ERR_APDU_FORMAT' }));
    expect(() => encodeCommandApdu({ cla: 0x100, ins: 0, p1: 0, p2: 0 })).toThrowError(expect.objectContaining({ code: 'ERR_APDU_FORMAT' }));
    expect(() => encodeCommandApdu({ cla: 0, ins: 0, p1: 0, p2: 0, le: 257 })).toThrowError(expect.objectContaining({ code: 'ERR_APDU_FORMAT' }));
  });
});

describe('command APDU parsing', () => {
  it('reads Le=00 as 256 (short) and 0000 as 65536 (extended)', () => {
    expect(parseCommandApdu(bytes('00FD000000')).le).toBe(256);
    expect(parseCommandApdu(bytes('00FD0000000000')).le).toBe(65536);
  });

  it('refuses lengths that disagree with the size', () => {
    for (const bad of ['00A4', '00A4040005A0000003', '00A4040005A00000030800FF', '00A404000001', '00A40400000000A0']) {
      expect(() => parseCommandApdu(bytes(bad))).toThrowError(expect.objectContaining({ code: 'ERR_APDU_FORMAT' }));
    }
  });

  it('round-trips every APDU it encodes, short and extended', () => {
    fc.assert(
      fc.property(
        fc.record({
          cla: fc.integer({ min: 0, max: 255 }),
          ins: fc.integer({ min: 0, max: 255 }),
          p1: fc.integer({ min: 0, max: 255 }),
          p2: fc.integer({ min: 0, max: 255 }),
          data: fc.uint8Array({ maxLength: 600 }),
          le: fc.option(fc.integer({ min: 1, max: 65536 }), { nil: undefined }),
        }),
        (command) => {
          const short = command.data.length <= 255 && (command.le === undefined || command.le <= 256);
          const encoding = short ? 'short' : 'extended';
          const parsed = parseCommandApdu(encodeCommandApdu(command, encoding));
          expect(parsed).toMatchObject({ cla: command.cla, ins: command.ins, p1: command.p1, p2: command.p2 });
          expect(parsed.le).toBe(command.le);
          expect(hex(parsed.data)).toBe(hex(command.data));
        },
      ),
    );
  });
});

describe('response APDU parsing', () => {
  it('splits data and status word', () => {
    expect(parseResponseApdu(bytes('0102039000'))).toEqual({ data: bytes('010203'), sw: 0x9000 });
    expect(() => parseResponseApdu(bytes('90'))).toThrowError(expect.objectContaining({ code: 'ERR_APDU_FORMAT' }));
  });
});
