// The PKCS#11 key store: both master keys live non-extractable in a token; HMAC (C_Sign) and AES-GCM run inside it.
import { randomBytes } from 'node:crypto';
import * as graphene from 'graphene-pk11';
import { KeyStoreInputError, Pkcs11KeyStoreError, SealedSecretInvalidError } from './key-store-errors.ts';
import type { Pkcs11KeyStoreConfig } from './key-store.ts';
import { MasterKeyStore } from './master-key-store.ts';
import { GCM_IV_LENGTH, GCM_TAG_LENGTH } from './sealed-secret.ts';

/*
 * Backup in PKCS#11 mode: the master keys are generated in the token with CKA_EXTRACTABLE false, so Tessera cannot
 * export them and exportKeyBackup refuses. Backup is the HSM's own (SoftHSM: copy the token directory named in
 * softhsm2.conf while no process has it open; network HSMs: their cloning/backup-token procedure). Without that
 * backup, losing the token means no card can be unblocked again.
 */

interface LoadedModule {
  module: graphene.Module;
  users: number;
}

// One C_Initialize per library per process; several stores (tokens) share it and the last close finalizes.
const loadedModules = new Map<string, LoadedModule>();

function acquireModule(library: string): graphene.Module {
  let loaded = loadedModules.get(library);
  if (loaded === undefined) {
    const module = graphene.Module.load(library, 'tessera-pkcs11');
    module.initialize();
    loaded = { module, users: 0 };
    loadedModules.set(library, loaded);
  }
  loaded.users += 1;
  return loaded.module;
}

function releaseModule(library: string): void {
  const loaded = loadedModules.get(library);
  if (loaded === undefined) return;
  loaded.users -= 1;
  if (loaded.users === 0) {
    loadedModules.delete(library);
    loaded.module.finalize();
  }
}

/** A PKCS#11 failure as a Tessera error: the CKR name is safe to show, a PIN never is in it. */
function pkcs11Failure(what: string, error: unknown): Pkcs11KeyStoreError {
  const reason = error instanceof Error ? error.message.split('\n')[0] : String(error);
  return new Pkcs11KeyStoreError(`${what}: ${reason}`, { cause: error });
}

function findSlot(module: graphene.Module, tokenLabel: string): graphene.Slot {
  const slots = module.getSlots(true);
  for (let i = 0; i < slots.length; i++) {
    const slot = slots.items(i);
    if (slot.getToken().label.trim() === tokenLabel) return slot;
  }
  throw new Pkcs11KeyStoreError(`no PKCS#11 token labelled "${tokenLabel}"`);
}

function findKey(session: graphene.Session, label: string, keyType: graphene.KeyType): graphene.SecretKey | undefined {
  const found = session.find({ class: graphene.ObjectClass.SECRET_KEY, keyType, label });
  if (found.length > 1) throw new Pkcs11KeyStoreError(`more than one key labelled "${label}" in the token`);
  return found.length === 1 ? found.items(0).toType<graphene.SecretKey>() : undefined;
}

/** Refuse master keys that could leave the token: they would make the HSM pointless. */
function assertNonExtractable(key: graphene.SecretKey, label: string): void {
  if (key.extractable || !key.sensitive) throw new Pkcs11KeyStoreError(`key "${label}" is extractable or not sensitive; master keys must stay in the token`);
}

export class Pkcs11KeyStore extends MasterKeyStore {
  readonly #library: string;
  readonly #session: graphene.Session;
  readonly #derivationKey: graphene.SecretKey;
  readonly #encryptionKey: graphene.SecretKey;

  constructor(library: string, session: graphene.Session, derivationKey: graphene.SecretKey, encryptionKey: graphene.SecretKey) {
    super();
    this.#library = library;
    this.#session = session;
    this.#derivationKey = derivationKey;
    this.#encryptionKey = encryptionKey;
  }

  protected async masterHmac(data: Uint8Array): Promise<Uint8Array> {
    try {
      return Uint8Array.from(this.#session.createSign('SHA256_HMAC', this.#derivationKey).once(Buffer.from(data)));
    } catch (error) {
      throw pkcs11Failure('HMAC in the token failed', error);
    }
  }

  protected async masterSeal(plain: Uint8Array, aad: Uint8Array): Promise<{ iv: Uint8Array; ciphertextAndTag: Uint8Array }> {
    const iv = randomBytes(GCM_IV_LENGTH);
    try {
      const params = new graphene.AesGcm240Params(iv, Buffer.from(aad), GCM_TAG_LENGTH * 8);
      const cipher = this.#session.createCipher({ name: 'AES_GCM', params }, this.#encryptionKey);
      const out = cipher.once(Buffer.from(plain), Buffer.alloc(plain.length + GCM_TAG_LENGTH + 16));
      return { iv, ciphertextAndTag: Uint8Array.from(out) };
    } catch (error) {
      throw pkcs11Failure('AES-GCM sealing in the token failed', error);
    }
  }

  protected async masterOpen(iv: Uint8Array, ciphertextAndTag: Uint8Array, aad: Uint8Array): Promise<Uint8Array> {
    try {
      const params = new graphene.AesGcm240Params(Buffer.from(iv), Buffer.from(aad), GCM_TAG_LENGTH * 8);
      const decipher = this.#session.createDecipher({ name: 'AES_GCM', params }, this.#encryptionKey);
      return Uint8Array.from(decipher.once(Buffer.from(ciphertextAndTag), Buffer.alloc(ciphertextAndTag.length + 16)));
    } catch (error) {
      // SoftHSM reports a failed GCM tag as CKR_GENERAL_ERROR or CKR_ENCRYPTED_DATA_INVALID: either way the blob is not ours.
      throw new SealedSecretInvalidError('sealed secret does not authenticate (tampered, wrong context or other master key)', { cause: error });
    }
  }

  protected async release(): Promise<void> {
    // No C_Logout: login is per token, and another store may share it; closing the last session logs out.
    this.#session.close();
    releaseModule(this.#library);
  }
}

export async function openPkcs11KeyStore(config: Pkcs11KeyStoreConfig): Promise<Pkcs11KeyStore> {
  for (const field of ['library', 'tokenLabel', 'keyLabel'] as const) {
    if (typeof config[field] !== 'string' || config[field] === '') throw new KeyStoreInputError(`PKCS#11 key store needs ${field}`);
  }
  let module: graphene.Module;
  try {
    module = acquireModule(config.library);
  } catch (error) {
    throw pkcs11Failure(`cannot load PKCS#11 library ${config.library}`, error);
  }
  let session: graphene.Session | undefined;
  try {
    const slot = findSlot(module, config.tokenLabel);
    session = slot.open(graphene.SessionFlag.RW_SESSION | graphene.SessionFlag.SERIAL_SESSION);
    try {
      session.login(config.pin.exposeText(), graphene.UserType.USER);
    } catch (error) {
      // Another store in this process already logged in to the same token: the login state is per token.
      if (!(error instanceof Error && error.message.includes('CKR_USER_ALREADY_LOGGED_IN'))) throw pkcs11Failure('PKCS#11 login failed', error);
    }
    const derivationLabel = `${config.keyLabel}/derive`;
    const encryptionLabel = `${config.keyLabel}/kek`;
    let derivationKey = findKey(session, derivationLabel, graphene.KeyType.GENERIC_SECRET);
    let encryptionKey = findKey(session, encryptionLabel, graphene.KeyType.AES);
    if ((derivationKey === undefined || encryptionKey === undefined) && config.createIfMissing !== true) {
      throw new Pkcs11KeyStoreError(`the token has no master keys labelled "${config.keyLabel}/..." (createIfMissing not set)`);
    }
    const common = { token: true, private: true, sensitive: true, extractable: false, modifiable: false };
    derivationKey ??= session.generateKey(graphene.KeyGenMechanism.GENERIC_SECRET, {
      ...common,
      class: graphene.ObjectClass.SECRET_KEY,
      keyType: graphene.KeyType.GENERIC_SECRET,
      label: derivationLabel,
      valueLen: 32,
      sign: true,
      verify: true,
    });
    encryptionKey ??= session.generateKey(graphene.KeyGenMechanism.AES, {
      ...common,
      class: graphene.ObjectClass.SECRET_KEY,
      keyType: graphene.KeyType.AES,
      label: encryptionLabel,
      valueLen: 32,
      encrypt: true,
      decrypt: true,
    });
    assertNonExtractable(derivationKey, derivationLabel);
    assertNonExtractable(encryptionKey, encryptionLabel);
    return new Pkcs11KeyStore(config.library, session, derivationKey, encryptionKey);
  } catch (error) {
    try {
      session?.close();
    } finally {
      releaseModule(config.library);
    }
    if (error instanceof Pkcs11KeyStoreError) throw error;
    throw pkcs11Failure('PKCS#11 key store could not be opened', error);
  }
}
