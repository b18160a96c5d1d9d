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
