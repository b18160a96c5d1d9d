// The offline unblock answer: 3DES-ECB of the card's 8-byte challenge under the 24-byte admin key.
import { InvalidArgumentError } from './card-errors.ts';
import type { Secret } from '../secret.ts';
import { tripleDesEncryptBlock } from './triple-des.ts';

/** The response Windows' unblock dialog (and the card) expects for a challenge. */
export function computeUnblockResponse(adminKey: Secret, challenge: Uint8Array): Uint8Array {
  if (challenge.length !== 8) throw new InvalidArgumentError(`an unblock challenge has 8 bytes, got ${challenge.length}`);
  return tripleDesEncryptBlock(adminKey.expose(), challenge);
}

/** `1603EBDF1C8A2E72` → `1603 EBDF 1C8A 2E72`, as Windows shows a challenge. */
export function formatChallengeForDisplay(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex').toUpperCase().replace(/(.{4})(?=.)/g, '$1 ');
}

/** Accepts 16 hex digits with optional spaces or dashes, as a person reads them over the phone. */
export function parseChallengeOrResponse(text: string): Uint8Array {
  const hex = text.replace(/[\s-]/g, '');
  if (!/^[0-9a-fA-F]{16}$/.test(hex)) throw new InvalidArgumentError('expected 16 hexadecimal digits');
  return Uint8Array.from(Buffer.from(hex, 'hex'));
}
