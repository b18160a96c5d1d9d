// The key store contract the server uses for every card secret, and the one factory that opens a key file or a PKCS#11 token.
import type { Secret } from '../../secret.ts';
import type { CardKeyRequest } from './card-key-derivation.ts';
import { openFileKeyStore } from './file-key-store.ts';
import { openPkcs11KeyStore } from './pkcs11-key-store.ts';

export type { CardKeyAlgorithm, CardKeyPurpose, CardKeyRequest, CardType } from './card-key-derivation.ts';
export { isDegenerateTripleDesKey } from './card-key-derivation.ts';

/**
 * Holds the two master keys (a key-encryption key and a derivation secret) and does everything that needs them,
 * so no caller ever sees a master key.
 *
 * Key rotation: a card key is a function of (master derivation secret, card type, card identifier, key version).
 * To rotate one card's key, derive with keyVersion + 1, write the new key to the card (authenticating with the
 * old one), and only once the card answered with success store the new version on the credential. A credential
 * whose outcome is unknown is resolved by trying both versions against the card. Rotating the master secret itself
 * means re-keying every card, so it is done credential by credential through the same key-version step on a new
 * store; sealed PUKs are opened with the old store and sealed again with the new one.
 */
export interface KeyStore {
  /** The diversified card key (PIV management key, GIDS admin key); never a degenerate 3DES key. */
  deriveCardKey(request: CardKeyRequest): Promise<Secret>;
  /** AES-256-GCM under the master key-encryption key, bound to `context` (e.g. `puk:<credential id>`). */
  sealSecret(plain: Secret, context: string): Promise<string>;
  /** Opens a sealed secret for the same context; throws ERR_KEYSTORE_SEALED_INVALID when tampered or moved. */
  openSecret(sealed: string, context: string): Promise<Secret>;
  /** A fresh PIV PUK: 8 random decimal digits. */
  generatePuk(): Secret;
  /** Keyed MAC of a PIN for one credential's history (hex); equal PINs of different credentials give unrelated MACs. */
  pinHistoryMac(credentialId: string, pin: Secret): Promise<string>;
  /** The key of the audit chain's MACs. */
  macKey(purpose: 'audit'): Promise<Secret>;
  close(): Promise<void>;
}

export interface FileKeyStoreConfig {
  kind: 'file';
  path: string;
  /** Create a new key file (mode 0600) when none exists; never overwrites one. */
  createIfMissing?: boolean;
}

export interface Pkcs11KeyStoreConfig {
  kind: 'pkcs11';
  /** Path of the PKCS#11 module, e.g. /usr/lib/softhsm/libsofthsm2.so. */
  library: string;
  tokenLabel: string;
  pin: Secret;
  /** Prefix of the two key objects' labels: `<keyLabel>/derive` (generic secret) and `<keyLabel>/kek` (AES-256). */
  keyLabel: string;
  /** Generate the two keys inside the token (non-extractable) when they are missing. */
  createIfMissing?: boolean;
}

export type KeyStoreConfig = FileKeyStoreConfig | Pkcs11KeyStoreConfig;

export async function openKeyStore(config: KeyStoreConfig): Promise<KeyStore> {
  return config.kind === 'pkcs11' ? await openPkcs11KeyStore(config) : await openFileKeyStore(config);
}
