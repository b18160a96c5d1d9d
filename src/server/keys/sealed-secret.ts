// The text form of a sealed secret (AES-256-GCM) and the AAD that binds it to its context, shared by both key stores.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { KeyStoreInputError, SealedSecretInvalidError, SealedSecretMalformedError } from './key-store-errors.ts';

/** Version tag of the sealed format: `tsk1.` + base64url(iv[12] || ciphertext || tag[16]). */
export const SEALED_PREFIX = 'tsk1.';
export const GCM_IV_LENGTH = 12;
export const GCM_TAG_LENGTH = 16;
const MAX_CONTEXT_LENGTH = 1024;
const MAX_SEALED_LENGTH = 64 * 1024;

/**
 * The additional authenticated data for a context (for example `puk:<credential id>`): a blob sealed for one
 * credential does not open for another, so a row copied between credentials is caught.
 */
export function sealingAad(context: string): Uint8Array {
  if (typeof context !== 'string' || context.length === 0 || context.length > MAX_CONTEXT_LENGTH) {
    throw new KeyStoreInputError('a sealing context must be a non-empty string of at most 1024 characters');
  }
  return new TextEncoder().encode(`tessera-sealed-secret/v1\u0000${context}`);
}

export function encodeSealed(iv: Uint8Array, ciphertextAndTag: Uint8Array): string {
  return SEALED_PREFIX + Buffer.concat([iv, ciphertextAndTag]).toString('base64url');
}

export function decodeSealed(sealed: string): { iv: Uint8Array; ciphertextAndTag: Uint8Array } {
  if (typeof sealed !== 'string' || !sealed.startsWith(SEALED_PREFIX) || sealed.length > MAX_SEALED_LENGTH) {
    throw new SealedSecretMalformedError('not a sealed secret (expected the tsk1. format)');
  }
  const body = sealed.slice(SEALED_PREFIX.length);
  if (!/^[A-Za-z0-9_-]*$/.test(body)) throw new SealedSecretMalformedError('sealed secret is not base64url');
  const bytes = Buffer.from(body, 'base64url');
  if (bytes.length < GCM_IV_LENGTH + GCM_TAG_LENGTH) throw new SealedSecretMalformedError('sealed secret is truncated');
  return { iv: bytes.subarray(0, GCM_IV_LENGTH), ciphertextAndTag: bytes.subarray(GCM_IV_LENGTH) };
}

/** AES-256-GCM in memory (key file store, key backups): random 96-bit IV, 128-bit tag. */
export function aesGcmSeal(key: Uint8Array, plain: Uint8Array, aad: Uint8Array): { iv: Uint8Array; ciphertextAndTag: Uint8Array } {
  const iv = randomBytes(GCM_IV_LENGTH);
  const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: GCM_TAG_LENGTH });
  cipher.setAAD(aad);
  const body = Buffer.concat([cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
  return { iv, ciphertextAndTag: body };
}

/** Opens what aesGcmSeal made; any mismatch (tampering, other context, other key) is one SealedSecretInvalidError. */
export function aesGcmOpen(key: Uint8Array, iv: Uint8Array, ciphertextAndTag: Uint8Array, aad: Uint8Array): Uint8Array {
  const tag = ciphertextAndTag.subarray(ciphertextAndTag.length - GCM_TAG_LENGTH);
  const ciphertext = ciphertextAndTag.subarray(0, ciphertextAndTag.length - GCM_TAG_LENGTH);
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: GCM_TAG_LENGTH });
    decipher.setAAD(aad);
    decipher.setAuthTag(tag);
    return Uint8Array.from(Buffer.concat([decipher.update(ciphertext), decipher.final()]));
  } catch (error) {
    throw new SealedSecretInvalidError('sealed secret does not authenticate (tampered, wrong context or other master key)', { cause: error });
  }
}
