// Block encryption under a PIV management key (3DES or AES, ECB, one block at a time).
import { createCipheriv, createDecipheriv } from 'node:crypto';
import { InvalidArgumentError } from '../card-errors.ts';
import { MANAGEMENT_KEY_PARAMETERS, type ManagementKeyParameters } from './piv-constants.ts';

export function managementKeyParameters(algorithm: number): ManagementKeyParameters {
  const parameters = MANAGEMENT_KEY_PARAMETERS.get(algorithm);
  if (!parameters) throw new InvalidArgumentError(`0x${algorithm.toString(16)} is not a management key algorithm`);
  return parameters;
}

function run(decrypt: boolean, algorithm: number, key: Uint8Array, block: Uint8Array): Uint8Array {
  const { keyLength, blockLength, cipher } = managementKeyParameters(algorithm);
  if (key.length !== keyLength) throw new InvalidArgumentError(`management key must have ${keyLength} bytes, got ${key.length}`);
  if (block.length !== blockLength) throw new InvalidArgumentError(`block must have ${blockLength} bytes, got ${block.length}`);
  const c = decrypt ? createDecipheriv(cipher, key, null) : createCipheriv(cipher, key, null);
  c.setAutoPadding(false);
  return new Uint8Array(Buffer.concat([c.update(block), c.final()]));
}

export function encryptManagementBlock(algorithm: number, key: Uint8Array, block: Uint8Array): Uint8Array {
  return run(false, algorithm, key, block);
}

export function decryptManagementBlock(algorithm: number, key: Uint8Array, block: Uint8Array): Uint8Array {
  return run(true, algorithm, key, block);
}
