// What both key stores share: everything is built on two master operations (HMAC under the derivation secret, AES-GCM under the KEK).
import { createHmac, randomInt } from 'node:crypto';
import { Secret } from '../../secret.ts';
import { deriveCardKeyBytes, deriveInternalKey, type CardKeyRequest } from './card-key-derivation.ts';
import { KeyStoreClosedError, KeyStoreInputError } from './key-store-errors.ts';
import type { KeyStore } from './key-store.ts';
import { decodeSealed, encodeSealed, sealingAad } from './sealed-secret.ts';

/** Labels of the store's own derived keys; distinct from every card key Label. */
export const PIN_HISTORY_LABEL = 'tessera/pin-history';
export const AUDIT_MAC_LABEL = 'tessera/audit-mac';
const PUK_DIGITS = 8;

export abstract class MasterKeyStore implements KeyStore {
  #closed = false;

  /** HMAC-SHA256 keyed with the master derivation secret. */
  protected abstract masterHmac(data: Uint8Array): Promise<Uint8Array>;
  /** AES-256-GCM encryption under the master KEK with this IV and AAD; returns ciphertext || tag. */
  protected abstract masterSeal(plain: Uint8Array, aad: Uint8Array): Promise<{ iv: Uint8Array; ciphertextAndTag: Uint8Array }>;
  /** The inverse; throws SealedSecretInvalidError when the tag does not verify. */
  protected abstract masterOpen(iv: Uint8Array, ciphertextAndTag: Uint8Array, aad: Uint8Array): Promise<Uint8Array>;
  protected abstract release(): Promise<void>;

  protected assertOpen(): void {
    if (this.#closed) throw new KeyStoreClosedError('the key store is closed');
  }

  #prf = async (data: Uint8Array): Promise<Uint8Array> => {
    this.assertOpen();
    return await this.masterHmac(data);
  };

  async deriveCardKey(request: CardKeyRequest): Promise<Secret> {
    if (request === null || typeof request !== 'object') throw new KeyStoreInputError('a card key request is required');
    return Secret.fromBytes(await deriveCardKeyBytes(this.#prf, request));
  }

  async sealSecret(plain: Secret, context: string): Promise<string> {
    if (!(plain instanceof Secret)) throw new KeyStoreInputError('only a Secret can be sealed');
    const aad = sealingAad(context);
    this.assertOpen();
    const { iv, ciphertextAndTag } = await this.masterSeal(plain.expose(), aad);
    return encodeSealed(iv, ciphertextAndTag);
  }

  async openSecret(sealed: string, context: string): Promise<Secret> {
    const aad = sealingAad(context);
    const { iv, ciphertextAndTag } = decodeSealed(sealed);
    this.assertOpen();
    return Secret.fromBytes(await this.masterOpen(iv, ciphertextAndTag, aad));
  }

  generatePuk(): Secret {
    let digits = '';
    for (let i = 0; i < PUK_DIGITS; i++) digits += String(randomInt(0, 10));
    return Secret.fromText(digits);
  }

  async pinHistoryMac(credentialId: string, pin: Secret): Promise<string> {
    if (typeof credentialId !== 'string' || credentialId.length === 0 || credentialId.length > 255) {
      throw new KeyStoreInputError('a credential id (1..255 characters) is required for a PIN history MAC');
    }
    if (!(pin instanceof Secret)) throw new KeyStoreInputError('the PIN must be a Secret');
    // One key per credential: a MAC copied from another credential's history never matches.
    const key = await deriveInternalKey(this.#prf, PIN_HISTORY_LABEL, new TextEncoder().encode(credentialId));
    return createHmac('sha256', key).update(pin.expose()).digest('hex');
  }

  async macKey(purpose: 'audit'): Promise<Secret> {
    if (purpose !== 'audit') throw new KeyStoreInputError('unknown MAC key purpose');
    return Secret.fromBytes(await deriveInternalKey(this.#prf, AUDIT_MAC_LABEL));
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.release();
  }
}
