// 3DES under the GIDS admin key: CBC with a zero IV, as the card and OpenSC compute it.
import { createCipheriv, createDecipheriv } from 'node:crypto';
import { InvalidArgumentError } from '../card-errors.ts';
import { GIDS_ADMIN_KEY_LENGTH } from './gids-constants.ts';

const ZERO_IV = new Uint8Array(8);

function run(decrypt: boolean, key: Uint8Array, data: Uint8Array): Uint8Array {
  if (key.length !== GIDS_ADMIN_KEY_LENGTH) throw new InvalidArgumentError(`a GIDS admin key has ${GIDS_ADMIN_KEY_LENGTH} bytes, got ${key.length}`);
  if (data.length === 0 || data.length % 8 !== 0) throw new InvalidArgumentError(`3DES works on whole 8-byte blocks, got ${data.length} bytes`);
  const cipher = decrypt ? createDecipheriv('des-ede3-cbc', key, ZERO_IV) : createCipheriv('des-ede3-cbc', key, ZERO_IV);
  cipher.setAutoPadding(false);
  return new Uint8Array(Buffer.concat([cipher.update(data), cipher.final()]));
}

export function adminKeyEncrypt(key: Uint8Array, data: Uint8Array): Uint8Array {
  return run(false, key, data);
}

export function adminKeyDecrypt(key: Uint8Array, data: Uint8Array): Uint8Array {
  return run(true, key, data);
}

/**
 * True when a 24-byte 3DES key degenerates to single DES (K1 = K2 or K2 = K3, parity bits
 * ignored): such a key is as weak as 56-bit DES, so Tessera never writes one.
 */
export function isDegenerateTripleDesKey(key: Uint8Array): boolean {
  if (key.length !== GIDS_ADMIN_KEY_LENGTH) return false;
  const part = (index: number) => Array.from(key.subarray(index * 8, index * 8 + 8), (b) => b & 0xfe);
  const [k1, k2, k3] = [part(0), part(1), part(2)];
  const equal = (a: number[], b: number[]) => a.every((value, i) => value === b[i]);
  return equal(k1, k2) || equal(k2, k3);
}
