// The key-file key store: both master keys in one 0600 JSON file, used in memory with node:crypto.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { closeSync, constants, fstatSync, fsyncSync, linkSync, mkdirSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { KeyFileCorruptError, KeyFileExistsError, KeyFileMissingError, KeyFilePermissionsError, KeyStoreInputError } from './key-store-errors.ts';
import type { FileKeyStoreConfig } from './key-store.ts';
import { MasterKeyStore } from './master-key-store.ts';
import { aesGcmOpen, aesGcmSeal } from './sealed-secret.ts';

export const KEY_FILE_FORMAT = 'tessera-key-file';
export const KEY_FILE_VERSION = 1;
const MASTER_KEY_LENGTH = 32;

/** The two random master keys a key file (and a key backup) holds. */
export interface MasterKeyMaterial {
  keyEncryptionKey: Uint8Array;
  derivationSecret: Uint8Array;
}

/**
 * Key file, version 1:
 * { "format": "tessera-key-file", "version": 1, "createdAt": ISO-8601,
 *   "keyEncryptionKey": base64 (32 bytes), "derivationSecret": base64 (32 bytes),
 *   "checkValue": hex of the first 16 bytes of HMAC-SHA256(derivationSecret, "tessera/key-file-check" || keyEncryptionKey) }
 * The check value catches a damaged key before it silently derives wrong card keys.
 */
interface KeyFileV1 {
  format: typeof KEY_FILE_FORMAT;
  version: typeof KEY_FILE_VERSION;
  createdAt: string;
  keyEncryptionKey: string;
  derivationSecret: string;
  checkValue: string;
}

/** Identifies a master key pair without revealing it (also shown to operators to compare backups). */
export function masterKeyCheckValue(material: MasterKeyMaterial): string {
  return createHmac('sha256', material.derivationSecret)
    .update('tessera/key-file-check')
    .update(material.keyEncryptionKey)
    .digest()
    .subarray(0, 16)
    .toString('hex');
}

export function generateMasterKeyMaterial(): MasterKeyMaterial {
  return { keyEncryptionKey: randomBytes(MASTER_KEY_LENGTH), derivationSecret: randomBytes(MASTER_KEY_LENGTH) };
}

export function serializeKeyFile(material: MasterKeyMaterial): string {
  const contents: KeyFileV1 = {
    format: KEY_FILE_FORMAT,
    version: KEY_FILE_VERSION,
    createdAt: new Date().toISOString(),
    keyEncryptionKey: Buffer.from(material.keyEncryptionKey).toString('base64'),
    derivationSecret: Buffer.from(material.derivationSecret).toString('base64'),
    checkValue: masterKeyCheckValue(material),
  };
  return `${JSON.stringify(contents, null, 2)}\n`;
}

/** Parses a key file's text; any defect is one KeyFileCorruptError that names no key bytes. */
export function parseKeyFile(text: string, where: string): MasterKeyMaterial {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new KeyFileCorruptError(`key file ${where} is not valid JSON (truncated or damaged)`, { cause: error });
  }
  const file = parsed as Partial<KeyFileV1> | null;
  if (file === null || typeof file !== 'object' || file.format !== KEY_FILE_FORMAT) {
    throw new KeyFileCorruptError(`${where} is not a Tessera key file`);
  }
  if (file.version !== KEY_FILE_VERSION) throw new KeyFileCorruptError(`key file ${where} has unsupported version ${String(file.version)}`);
  const decode = (value: unknown, name: string): Uint8Array => {
    const bytes = typeof value === 'string' && /^[A-Za-z0-9+/]+={0,2}$/.test(value) ? Buffer.from(value, 'base64') : undefined;
    if (bytes?.length !== MASTER_KEY_LENGTH) throw new KeyFileCorruptError(`key file ${where}: ${name} is missing or not ${MASTER_KEY_LENGTH} bytes`);
    return Uint8Array.from(bytes);
  };
  const material = { keyEncryptionKey: decode(file.keyEncryptionKey, 'keyEncryptionKey'), derivationSecret: decode(file.derivationSecret, 'derivationSecret') };
  const expected = Buffer.from(masterKeyCheckValue(material), 'hex');
  const stored = typeof file.checkValue === 'string' && /^[0-9a-f]{32}$/.test(file.checkValue) ? Buffer.from(file.checkValue, 'hex') : Buffer.alloc(16);
  if (!timingSafeEqual(expected, stored)) throw new KeyFileCorruptError(`key file ${where} fails its check value (damaged)`);
  return material;
}

/**
 * Writes a new key file with mode 0600, never replacing one: the text goes to a private temporary file, is
 * synced, then hard-linked into place (link fails if the name exists, so two starting servers cannot both win).
 */
export function writeKeyFileExclusive(path: string, material: MasterKeyMaterial): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const temporary = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  const fd = openSync(temporary, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
  try {
    writeSync(fd, serializeKeyFile(material));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    linkSync(temporary, path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') throw new KeyFileExistsError(`key file ${path} already exists; refusing to overwrite it`, { cause: error });
    throw error;
  } finally {
    unlinkSync(temporary);
  }
}

function readKeyFile(path: string): MasterKeyMaterial {
  const fd = openSync(path, 'r');
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) throw new KeyFileCorruptError(`key file ${path} is not a regular file`);
    if ((stat.mode & 0o077) !== 0) {
      throw new KeyFilePermissionsError(`key file ${path} is accessible by group or others (mode ${(stat.mode & 0o777).toString(8)}); run chmod 600 on it`);
    }
    return parseKeyFile(readFileSync(fd, 'utf8'), path);
  } finally {
    closeSync(fd);
  }
}

const materialOf = new WeakMap<FileKeyStore, MasterKeyMaterial>();

/** The master keys of a key-file store, for the passphrase-protected backup only (undefined for any other store). */
export function fileKeyStoreMaterial(store: unknown): MasterKeyMaterial | undefined {
  const material = store instanceof FileKeyStore ? materialOf.get(store) : undefined;
  return material && { keyEncryptionKey: Uint8Array.from(material.keyEncryptionKey), derivationSecret: Uint8Array.from(material.derivationSecret) };
}

export class FileKeyStore extends MasterKeyStore {
  readonly #material: MasterKeyMaterial;

  constructor(material: MasterKeyMaterial) {
    super();
    this.#material = material;
    materialOf.set(this, material);
  }

  protected async masterHmac(data: Uint8Array): Promise<Uint8Array> {
    return Uint8Array.from(createHmac('sha256', this.#material.derivationSecret).update(data).digest());
  }

  protected async masterSeal(plain: Uint8Array, aad: Uint8Array): Promise<{ iv: Uint8Array; ciphertextAndTag: Uint8Array }> {
    return aesGcmSeal(this.#material.keyEncryptionKey, plain, aad);
  }

  protected async masterOpen(iv: Uint8Array, ciphertextAndTag: Uint8Array, aad: Uint8Array): Promise<Uint8Array> {
    return aesGcmOpen(this.#material.keyEncryptionKey, iv, ciphertextAndTag, aad);
  }

  protected async release(): Promise<void> {
    this.#material.keyEncryptionKey.fill(0);
    this.#material.derivationSecret.fill(0);
    materialOf.delete(this);
  }
}

export async function openFileKeyStore(config: FileKeyStoreConfig): Promise<FileKeyStore> {
  if (typeof config.path !== 'string' || config.path === '') throw new KeyStoreInputError('a key file path is required');
  try {
    return new FileKeyStore(readKeyFile(config.path));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    if (config.createIfMissing !== true) throw new KeyFileMissingError(`no key file at ${config.path}`, { cause: error });
  }
  try {
    writeKeyFileExclusive(config.path, generateMasterKeyMaterial());
  } catch (error) {
    // Another process created it first: use theirs.
    if (!(error instanceof KeyFileExistsError)) throw error;
  }
  return new FileKeyStore(readKeyFile(config.path));
}
