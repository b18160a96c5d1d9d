// 3DES under the GIDS admin key: known answers (CBC with zero IV equals ECB for one block) and weak-key detection.
import { describe, expect, it } from 'vitest';
import { isDegenerateTripleDesKey } from '../triple-des.ts';
import { adminKeyDecrypt, adminKeyEncrypt } from './gids-admin-crypto.ts';

const bytes = (hex: string) => Uint8Array.from(Buffer.from(hex, 'hex'));
const hex = (data: Uint8Array) => Buffer.from(data).toString('hex').toUpperCase();

describe('adminKeyEncrypt', () => {
  it('reproduces the Windows unblock known answers for one block', () => {
    const cases = [
      ['010203040506070801020304050607080102030405060708', '1603EBDF1C8A2E72', 'F940671512CD0DFF'],
      ['010203040506070801020304050607080102030405060708', '0000000000000000', 'B073DC3FB209536D'],
      ['000000000000000000000000000000000000000000000000', '0000000000000000', '8CA64DE9C1B123A7'],
      ['0123456789ABCDEFFEDCBA987654321089ABCDEF01234567', '1603EBDF1C8A2E72', '04F356A004EAFEA4'],
    ];
    for (const [key, challenge, response] of cases) expect(hex(adminKeyEncrypt(bytes(key!), bytes(challenge!)))).toBe(response);
  });

  it('chains blocks (CBC) and decrypts what it encrypted', () => {
    const key = bytes('0123456789ABCDEFFEDCBA987654321089ABCDEF01234567');
    const data = bytes('00112233445566770011223344556677');
    const encrypted = adminKeyEncrypt(key, data);
    // Equal plaintext blocks give different ciphertext blocks: not ECB.
    expect(hex(encrypted.subarray(0, 8))).not.toBe(hex(encrypted.subarray(8)));
    expect(adminKeyDecrypt(key, encrypted)).toEqual(data);
  });

  it('refuses keys and data of the wrong size', () => {
    expect(() => adminKeyEncrypt(new Uint8Array(16), new Uint8Array(8))).toThrow(expect.objectContaining({ code: 'ERR_CARD_INVALID_ARGUMENT' }));
    expect(() => adminKeyEncrypt(new Uint8Array(24), new Uint8Array(7))).toThrow(expect.objectContaining({ code: 'ERR_CARD_INVALID_ARGUMENT' }));
  });
});

describe('isDegenerateTripleDesKey', () => {
  it('flags K1 = K2 or K2 = K3, parity bits ignored, and accepts three distinct parts', () => {
    expect(isDegenerateTripleDesKey(bytes('010203040506070801020304050607080102030405060708'))).toBe(true);
    expect(isDegenerateTripleDesKey(bytes('0123456789ABCDEF0023456789ABCDEFFEDCBA9876543210'))).toBe(true);
    expect(isDegenerateTripleDesKey(bytes('FEDCBA98765432100123456789ABCDEF0123456789ABCDEF'))).toBe(true);
    expect(isDegenerateTripleDesKey(bytes('0123456789ABCDEFFEDCBA987654321089ABCDEF01234567'))).toBe(false);
    // K1 = K3 is real two-key 3DES, which stays allowed.
    expect(isDegenerateTripleDesKey(bytes('0123456789ABCDEFFEDCBA98765432100123456789ABCDEF'))).toBe(false);
  });
});
