// Passphrase-protected export of the master keys, and restore into an empty location: without it a lost key file strands every card.
import { scrypt } from 'node:crypto';
import { existsSync } from 'node:fs';
import type { Secret } from '../../secret.ts';
import { fileKeyStoreMaterial, masterKeyCheckValue, writeKeyFileExclusive, type MasterKeyMaterial } from './file-key-store.ts';
import {
  KeyBackupCorruptError,
  KeyBackupPassphraseError,
  KeyBackupPassphraseWeakError,
  KeyBackupUnsupportedError,
  KeyFileExistsError,
  KeyStoreInputError,
  SealedSecretInvalidError,
} from './key-store-errors.ts';
import type { KeyStore } from './key-store.ts';
import { aesGcmOpen, aesGcmSeal } from './sealed-secret.ts';

export const KEY_BACKUP_FORMAT = 'tessera-key-backup';
const KEY_BACKUP_VERSION = 1;
const MIN_PASSPHRASE_LENGTH = 12;
// scrypt N = 2^17, r = 8, p = 1: 128 MiB and a few hundred ms per guess (OWASP's recommended floor is 2^17).
const SCRYPT_DEFAULT = { N: 2 ** 17, r: 8, p: 1 };
// Accepted on restore: no weaker than the floor, no costlier than 1 GiB (a crafted backup must not exhaust memory).
const SCRYPT_MIN_LOG_N = 15;
const SCRYPT_MAX_LOG_N = 20;

/**
 * Backup file, version 1 (JSON):
 * { "format": "tessera-key-backup", "version": 1, "createdAt", "checkValue" (of the master keys, for operators),
 *   "kdf": { "name": "scrypt", "N", "r", "p", "salt": base64 (16 bytes) },
 *   "cipher": "aes-256-gcm", "iv": base64, "ciphertext": base64 (ciphertext || tag) }
 * The plaintext is keyEncryptionKey (32) || derivationSecret (32). The AAD is the JSON header without iv and
 * ciphertext, so the KDF parameters and check value cannot be altered either.
 */
interface KeyBackupV1 {
  format: typeof KEY_BACKUP_FORMAT;
  version: typeof KEY_BACKUP_VERSION;
  createdAt: string;
  checkValue: string;
  kdf: { name: 'scrypt'; N: number; r: number; p: number; salt: string };
  cipher: 'aes-256-gcm';
  iv: string;
  ciphertext: string;
}

function scryptKey(passphrase: Secret, salt: Uint8Array, params: { N: number; r: number; p: number }): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    scrypt(passphrase.expose(), salt, 32, { ...params, maxmem: 256 * params.N * params.r + 64 * 1024 * 1024 }, (error, key) => {
      if (error) reject(new KeyStoreInputError('scrypt failed', { cause: error }));
      else resolve(Uint8Array.from(key));
    });
  });
}

function headerAad(backup: Omit<KeyBackupV1, 'iv' | 'ciphertext'>): Uint8Array {
  const { format, version, createdAt, checkValue, kdf, cipher } = backup;
  return new TextEncoder().encode(JSON.stringify({ format, version, createdAt, checkValue, kdf, cipher }));
}

/**
 * Exports a key-file store's master keys under a passphrase (at least 12 characters). A PKCS#11 store refuses:
 * its keys never leave the token, and its backup is the HSM's own (see pkcs11-key-store.ts).
 */
export async function exportKeyBackup(store: KeyStore, passphrase: Secret): Promise<string> {
  const material = fileKeyStoreMaterial(store);
  if (material === undefined) {
    throw new KeyBackupUnsupportedError('this key store cannot export its master keys (PKCS#11 keys stay in the token: use the HSM\'s own backup), or it is closed');
  }
  if (passphrase.exposeText().length < MIN_PASSPHRASE_LENGTH) {
    throw new KeyBackupPassphraseWeakError(`a backup passphrase must have at least ${MIN_PASSPHRASE_LENGTH} characters`);
  }
  const salt = Uint8Array.from(globalThis.crypto.getRandomValues(new Uint8Array(16)));
  const header: Omit<KeyBackupV1, 'iv' | 'ciphertext'> = {
    format: KEY_BACKUP_FORMAT,
    version: KEY_BACKUP_VERSION,
    createdAt: new Date().toISOString(),
    checkValue: masterKeyCheckValue(material),
    kdf: { name: 'scrypt', ...SCRYPT_DEFAULT, salt: Buffer.from(salt).toString('base64') },
    cipher: 'aes-256-gcm',
  };
  const key = await scryptKey(passphrase, salt, SCRYPT_DEFAULT);
  const plain = Buffer.concat([material.keyEncryptionKey, material.derivationSecret]);
  try {
    const { iv, ciphertextAndTag } = aesGcmSeal(key, plain, headerAad(header));
    const backup: KeyBackupV1 = { ...header, iv: Buffer.from(iv).toString('base64'), ciphertext: Buffer.from(ciphertextAndTag).toString('base64') };
    return `${JSON.stringify(backup, null, 2)}\n`;
  } finally {
    plain.fill(0);
    key.fill(0);
    material.keyEncryptionKey.fill(0);
    material.derivationSecret.fill(0);
  }
}

function parseBackup(backup: Uint8Array | string): KeyBackupV1 {
  const text = typeof backup === 'string' ? backup : new TextDecoder().decode(backup);
  let parsed: Partial<KeyBackupV1> | null;
  try {
    parsed = JSON.parse(text) as Partial<KeyBackupV1> | null;
  } catch (error) {
    throw new KeyBackupCorruptError('the key backup is not valid JSON (truncated or damaged)', { cause: error });
  }
  if (parsed === null || typeof parsed !== 'object' || parsed.format !== KEY_BACKUP_FORMAT) throw new KeyBackupCorruptError('not a Tessera key backup');
  if (parsed.version !== KEY_BACKUP_VERSION) throw new KeyBackupCorruptError(`unsupported key backup version ${String(parsed.version)}`);
  const kdf = parsed.kdf;
  const validLogN = (n: unknown): boolean => Number.isInteger(n) && (n as number) > 0 && Number.isInteger(Math.log2(n as number)) && Math.log2(n as number) >= SCRYPT_MIN_LOG_N && Math.log2(n as number) <= SCRYPT_MAX_LOG_N;
  if (kdf === undefined || kdf === null || kdf.name !== 'scrypt' || !validLogN(kdf.N) || kdf.r !== 8 || kdf.p !== 1 || typeof kdf.salt !== 'string') {
    throw new KeyBackupCorruptError('the key backup has missing or out-of-range scrypt parameters');
  }
  if (parsed.cipher !== 'aes-256-gcm' || typeof parsed.iv !== 'string' || typeof parsed.ciphertext !== 'string' || typeof parsed.checkValue !== 'string' || typeof parsed.createdAt !== 'string') {
    throw new KeyBackupCorruptError('the key backup is missing fields');
  }
  return parsed as KeyBackupV1;
}

/** Decrypts a backup; a wrong passphrase (or an altered backup) is ERR_KEYSTORE_BACKUP_PASSPHRASE. */
export async function readKeyBackup(backup: Uint8Array | string, passphrase: Secret): Promise<MasterKeyMaterial> {
  const parsed = parseBackup(backup);
  const iv = Buffer.from(parsed.iv, 'base64');
  const body = Buffer.from(parsed.ciphertext, 'base64');
  if (iv.length !== 12 || body.length !== 64 + 16) throw new KeyBackupCorruptError('the key backup is truncated');
  const key = await scryptKey(passphrase, Buffer.from(parsed.kdf.salt, 'base64'), parsed.kdf);
  let plain: Uint8Array;
  try {
    plain = aesGcmOpen(key, iv, body, headerAad(parsed));
  } catch (error) {
    if (error instanceof SealedSecretInvalidError) throw new KeyBackupPassphraseError('the passphrase does not open this key backup (or the backup was altered)');
    throw error;
  } finally {
    key.fill(0);
  }
  const material = { keyEncryptionKey: plain.slice(0, 32), derivationSecret: plain.slice(32, 64) };
  plain.fill(0);
  if (masterKeyCheckValue(material) !== parsed.checkValue) throw new KeyBackupCorruptError('the key backup fails its check value');
  return material;
}

/** Restores a backup into a new key file (mode 0600); refuses to overwrite an existing one. */
export async function restoreKeyBackup(backup: Uint8Array | string, passphrase: Secret, targetKeyFilePath: string): Promise<void> {
  if (existsSync(targetKeyFilePath)) throw new KeyFileExistsError(`key file ${targetKeyFilePath} already exists; restore only into an empty location`);
  const material = await readKeyBackup(backup, passphrase);
  try {
    writeKeyFileExclusive(targetKeyFilePath, material);
  } finally {
    material.keyEncryptionKey.fill(0);
    material.derivationSecret.fill(0);
  }
}
