// 3DES (EDE, three keys) as smart cards use it: block encryption and the refusal of keys that collapse to DES.
import { createCipheriv } from 'node:crypto';
import { InvalidArgumentError } from './card-errors.ts';

export const TRIPLE_DES_KEY_LENGTH = 24;

/** Encrypts whole 8-byte blocks with 3DES in ECB mode (for one block the same as CBC with a zero IV). */
export function tripleDesEncryptBlock(key: Uint8Array, block: Uint8Array): Uint8Array {
  if (key.length !== TRIPLE_DES_KEY_LENGTH) throw new InvalidArgumentError(`a 3DES key has 24 bytes, got ${key.length}`);
  if (block.length === 0 || block.length % 8 !== 0) throw new InvalidArgumentError(`3DES works on whole 8-byte blocks, got ${block.length} bytes`);
  const cipher = createCipheriv('des-ede3', key, null).setAutoPadding(false);
  return new Uint8Array(Buffer.concat([cipher.update(block), cipher.final()]));
}

const maskParity = (bytes: Uint8Array): string => Array.from(bytes, (b) => b & 0xfe).join(',');

// Weak and semi-weak single-DES keys (FIPS 74, SP 800-67), parity bits cleared.
const WEAK_DES_KEYS: ReadonlySet<string> = new Set(
  [
    '0101010101010101', 'FEFEFEFEFEFEFEFE', 'E0E0E0E0F1F1F1F1', '1F1F1F1F0E0E0E0E',
    '011F011F010E010E', '1F011F010E010E01', '01E001E001F101F1', 'E001E001F101F101',
    '01FE01FE01FE01FE', 'FE01FE01FE01FE01', '1FE01FE00EF10EF1', 'E01FE01FF10EF10E',
    '1FFE1FFE0EFE0EFE', 'FE1FFE1FFE0EFE0E', 'E0FEE0FEF1FEF1FE', 'FEE0FEE0FEF1FEF1',
  ].map((hex) => maskParity(Buffer.from(hex, 'hex'))),
);

/**
 * True for a 24-byte 3DES key Tessera never writes to a card: K1 = K2 or K2 = K3 with parity bits
 * masked (EDE then collapses to single DES), or any third a weak or semi-weak DES key.
 * Keys of another length are not 3DES keys: false.
 */
export function isDegenerateTripleDesKey(key: Uint8Array): boolean {
  if (key.length !== TRIPLE_DES_KEY_LENGTH) return false;
  const [k1, k2, k3] = [0, 8, 16].map((offset) => maskParity(key.subarray(offset, offset + 8)));
  if (k1 === k2 || k2 === k3) return true;
  return [k1, k2, k3].some((k) => WEAK_DES_KEYS.has(k!));
}
