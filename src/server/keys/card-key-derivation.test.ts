// Checks the SP 800-108 construction against an independent computation, the 3DES degeneracy rule and the retry on it.
import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { deriveCardKeyBytes, encodeCardKeyContext, isDegenerateTripleDesKey, sp800108CounterKdf, type HmacSha256Prf } from './card-key-derivation.ts';

const master = Buffer.from('000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f', 'hex');
const prf: HmacSha256Prf = async (data) => Uint8Array.from(createHmac('sha256', master).update(data).digest());
const cardIdentifier = Uint8Array.from(Buffer.from('00112233445566778899aabbccddeeff', 'hex'));

/** The construction written out by hand, byte by byte, as the standard states it. */
function referenceKdf(key: Buffer, label: string, context: Buffer, lengthBytes: number): Buffer {
  const out: Buffer[] = [];
  for (let i = 1; out.length * 32 < lengthBytes; i++) {
    const counter = Buffer.alloc(4);
    counter.writeUInt32BE(i);
    const length = Buffer.alloc(4);
    length.writeUInt32BE(lengthBytes * 8);
    out.push(createHmac('sha256', key).update(Buffer.concat([counter, Buffer.from(label, 'ascii'), Buffer.from([0]), context, length])).digest());
  }
  return Buffer.concat(out).subarray(0, lengthBytes);
}

describe('SP 800-108 counter-mode KDF', () => {
  it('encodes the card context as len||type||len||identifier||version32', () => {
    const context = encodeCardKeyContext({ cardType: 'piv', cardIdentifier, keyVersion: 2 });
    expect(Buffer.from(context).toString('hex')).toBe('03' + '706976' + '10' + '00112233445566778899aabbccddeeff' + '00000002');
  });

  it('matches an independent HMAC-SHA256 computation for one and for several blocks', async () => {
    const context = Buffer.from(encodeCardKeyContext({ cardType: 'gids', cardIdentifier, keyVersion: 1 }));
    for (const length of [16, 24, 32, 33, 80]) {
      const ours = await sp800108CounterKdf(prf, new TextEncoder().encode('gids-admin'), context, length);
      expect(Buffer.from(ours).toString('hex')).toBe(referenceKdf(master, 'gids-admin', context, length).toString('hex'));
    }
  });

  it('derives card keys as Label = purpose (3DES) or purpose:algorithm (AES), Context as above', async () => {
    const context = Buffer.from(encodeCardKeyContext({ cardType: 'piv', cardIdentifier, keyVersion: 1 }));
    const tdes = await deriveCardKeyBytes(prf, { cardType: 'piv', cardIdentifier, keyVersion: 1, purpose: 'piv-management' });
    expect(Buffer.from(tdes).toString('hex')).toBe(referenceKdf(master, 'piv-management', context, 24).toString('hex'));
    const aes192 = await deriveCardKeyBytes(prf, { cardType: 'piv', cardIdentifier, keyVersion: 1, purpose: 'piv-management', algorithm: 'aes192' });
    expect(Buffer.from(aes192).toString('hex')).toBe(referenceKdf(master, 'piv-management:aes192', context, 24).toString('hex'));
    expect(aes192).not.toEqual(tdes);
    const aes256 = await deriveCardKeyBytes(prf, { cardType: 'piv', cardIdentifier, keyVersion: 1, purpose: 'piv-management', algorithm: 'aes256' });
    expect(aes256).toHaveLength(32);
    const aes128 = await deriveCardKeyBytes(prf, { cardType: 'piv', cardIdentifier, keyVersion: 1, purpose: 'piv-management', algorithm: 'aes128' });
    expect(aes128).toHaveLength(16);
  });

  it('gives unrelated keys for another key version, identifier or card type', async () => {
    const base = await deriveCardKeyBytes(prf, { cardType: 'gids', cardIdentifier, keyVersion: 1, purpose: 'gids-admin' });
    const rotated = await deriveCardKeyBytes(prf, { cardType: 'gids', cardIdentifier, keyVersion: 2, purpose: 'gids-admin' });
    const other = Uint8Array.from(cardIdentifier);
    other[15]! ^= 1;
    const otherCard = await deriveCardKeyBytes(prf, { cardType: 'gids', cardIdentifier: other, keyVersion: 1, purpose: 'gids-admin' });
    expect(new Set([base, rotated, otherCard].map((k) => Buffer.from(k).toString('hex'))).size).toBe(3);
  });

  it('refuses mismatched purpose and card type, bad versions and identifiers, with a code', async () => {
    const bad = [
      { cardType: 'piv', cardIdentifier, keyVersion: 1, purpose: 'gids-admin' },
      { cardType: 'gids', cardIdentifier, keyVersion: 1, purpose: 'gids-admin', algorithm: 'aes256' },
      { cardType: 'piv', cardIdentifier, keyVersion: -1, purpose: 'piv-management' },
      { cardType: 'piv', cardIdentifier, keyVersion: 1.5, purpose: 'piv-management' },
      { cardType: 'piv', cardIdentifier: new Uint8Array(0), keyVersion: 1, purpose: 'piv-management' },
      { cardType: 'piv', cardIdentifier: 'abc', keyVersion: 1, purpose: 'piv-management' },
      { cardType: 'java', cardIdentifier, keyVersion: 1, purpose: 'piv-management' },
    ];
    for (const request of bad) {
      // eslint-disable-next-line @typescript-eslint/no-explicit-any -- deliberately ill-typed input
      await expect(deriveCardKeyBytes(prf, request as any)).rejects.toMatchObject({ code: 'ERR_KEYSTORE_INPUT' });
    }
  });
});

describe('isDegenerateTripleDesKey', () => {
  const k1 = '0123456789ABCDEF';
  const k2 = 'FEDCBA9876543210';
  const k3 = '89ABCDEF01234567';
  const key = (hex: string): Uint8Array => Uint8Array.from(Buffer.from(hex, 'hex'));

  it('accepts a proper three-key and two-key (K1 = K3) 3DES key', () => {
    expect(isDegenerateTripleDesKey(key(k1 + k2 + k3))).toBe(false);
    expect(isDegenerateTripleDesKey(key(k1 + k2 + k1))).toBe(false);
  });

  it('refuses K1 = K2 and K2 = K3, also when they differ only in parity bits', () => {
    expect(isDegenerateTripleDesKey(key(k1 + k1 + k3))).toBe(true);
    expect(isDegenerateTripleDesKey(key(k1 + k2 + k2))).toBe(true);
    expect(isDegenerateTripleDesKey(key(k1 + k1 + k1))).toBe(true);
    // 0x01 → 0x00 and 0x23 → 0x22 and so on: only the low (parity) bit of each byte changes.
    expect(isDegenerateTripleDesKey(key(k1 + '0022446688AACCEE' + k3))).toBe(true);
    expect(isDegenerateTripleDesKey(key(k1 + k2 + 'FFDDBB9977553311'))).toBe(true);
  });

  it('refuses weak and semi-weak DES thirds', () => {
    expect(isDegenerateTripleDesKey(key('0101010101010101' + k2 + k3))).toBe(true);
    expect(isDegenerateTripleDesKey(key(k1 + '0000000000000000' + k3))).toBe(true);
    expect(isDegenerateTripleDesKey(key(k1 + k2 + '01FE01FE01FE01FE'))).toBe(true);
  });

  it('is not about other lengths', () => {
    expect(isDegenerateTripleDesKey(new Uint8Array(16))).toBe(false);
  });

  it('derivation skips a degenerate result using the iteration byte appended to the Context', async () => {
    const context = encodeCardKeyContext({ cardType: 'gids', cardIdentifier, keyVersion: 1 });
    const degenerate = Buffer.from(k1 + k1 + k3 + '00'.repeat(8), 'hex');
    // A PRF that is HMAC except for the plain (attempt 0) context, where it answers a degenerate block.
    const craftedPrf: HmacSha256Prf = async (data) => {
      const attemptZero = Buffer.from(data).includes(Buffer.concat([Buffer.from(context), Buffer.from([0, 0, 0, 192])]));
      return attemptZero ? Uint8Array.from(degenerate) : prf(data);
    };
    const derived = await deriveCardKeyBytes(craftedPrf, { cardType: 'gids', cardIdentifier, keyVersion: 1, purpose: 'gids-admin' });
    expect(isDegenerateTripleDesKey(derived)).toBe(false);
    const retryContext = Buffer.concat([Buffer.from(context), Buffer.from([1])]);
    expect(Buffer.from(derived).toString('hex')).toBe(referenceKdf(master, 'gids-admin', retryContext, 24).toString('hex'));
  });
});
