// The key store's errors, each with a stable code; none of them ever carries key material in its message.
import { TesseraError } from '../../errors.ts';

/** The key file is readable or writable by group or others: a master key must be 0600. */
export class KeyFilePermissionsError extends TesseraError {
  readonly code = 'ERR_KEYSTORE_FILE_PERMISSIONS';
}

/** No key file where one was expected, and creating one was not asked for. */
export class KeyFileMissingError extends TesseraError {
  readonly code = 'ERR_KEYSTORE_FILE_MISSING';
}

/** The key file exists but is truncated, not JSON, of an unknown version, or fails its check value. */
export class KeyFileCorruptError extends TesseraError {
  readonly code = 'ERR_KEYSTORE_FILE_CORRUPT';
}

/** Refused to overwrite an existing key file (creating or restoring). */
export class KeyFileExistsError extends TesseraError {
  readonly code = 'ERR_KEYSTORE_FILE_EXISTS';
}

/** A derivation or sealing request with bad parameters (unknown card type, empty identifier, bad key version...). */
export class KeyStoreInputError extends TesseraError {
  readonly code = 'ERR_KEYSTORE_INPUT';
}

/** A sealed value that is not in the sealed format at all. */
export class SealedSecretMalformedError extends TesseraError {
  readonly code = 'ERR_KEYSTORE_SEALED_MALFORMED';
}

/** A sealed value that fails authentication: tampered, sealed for another context, or under another master key. */
export class SealedSecretInvalidError extends TesseraError {
  readonly code = 'ERR_KEYSTORE_SEALED_INVALID';
}

/** The PKCS#11 library, token, login or keys could not be used. */
export class Pkcs11KeyStoreError extends TesseraError {
  readonly code = 'ERR_KEYSTORE_PKCS11';
}

/** The store was used after close(). */
export class KeyStoreClosedError extends TesseraError {
  readonly code = 'ERR_KEYSTORE_CLOSED';
}

/** A backup cannot be made of this store (PKCS#11 keys never leave the token). */
export class KeyBackupUnsupportedError extends TesseraError {
  readonly code = 'ERR_KEYSTORE_BACKUP_UNSUPPORTED';
}

/** The backup passphrase is too short to stand against offline guessing. */
export class KeyBackupPassphraseWeakError extends TesseraError {
  readonly code = 'ERR_KEYSTORE_BACKUP_PASSPHRASE_WEAK';
}

/** The passphrase does not open this backup (or the backup was altered). */
export class KeyBackupPassphraseError extends TesseraError {
  readonly code = 'ERR_KEYSTORE_BACKUP_PASSPHRASE';
}

/** The backup is not a Tessera key backup, or is truncated or of an unknown version. */
export class KeyBackupCorruptError extends TesseraError {
  readonly code = 'ERR_KEYSTORE_BACKUP_CORRUPT';
}
