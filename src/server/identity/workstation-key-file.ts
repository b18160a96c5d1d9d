// The `tessera cp` side of workstation enrolment: a P-256 key pair in a file only its owner can read, and request signing.
import { createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import { openSync, readFileSync, statSync, writeSync, closeSync } from 'node:fs';
import { TesseraError } from '../../errors.ts';
import { CP_HEADERS, CREDENTIAL_PROVIDER_MODE, credentialProviderMessage } from './workstation-signature.ts';

export class WorkstationKeyFileError extends TesseraError {
  readonly code = 'ERR_WORKSTATION_KEY_FILE';
}

export interface WorkstationKey {
  privateKey: KeyObject;
  /** SPKI PEM, what an operator enrols on the server. */
  publicKeyPem: string;
}

/** Creates a new key file with mode 0600; never overwrites an existing one (that would orphan the enrolment). */
export function createWorkstationKeyFile(path: string): WorkstationKey {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  let fd: number;
  try {
    fd = openSync(path, 'wx', 0o600);
  } catch (error) {
    throw new WorkstationKeyFileError(`cannot create the workstation key file ${path} (it may exist already)`, { cause: error });
  }
  try {
    writeSync(fd, privateKey.export({ format: 'pem', type: 'pkcs8' }).toString());
  } finally {
    closeSync(fd);
  }
  return { privateKey, publicKeyPem: publicKey.export({ format: 'pem', type: 'spki' }).toString() };
}

/** Loads the key, refusing a file that anyone but its owner could read (the key would no longer prove the workstation). */
export function loadWorkstationKeyFile(path: string): WorkstationKey {
  let mode: number;
  let text: string;
  try {
    mode = statSync(path).mode;
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new WorkstationKeyFileError(`cannot read the workstation key file ${path}`, { cause: error });
  }
  if ((mode & 0o077) !== 0) throw new WorkstationKeyFileError(`the workstation key file ${path} is readable by others (mode ${(mode & 0o777).toString(8)}): chmod 600 it`);
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(text);
  } catch (error) {
    throw new WorkstationKeyFileError(`the workstation key file ${path} holds no private key`, { cause: error });
  }
  if (privateKey.asymmetricKeyType !== 'ec' || privateKey.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw new WorkstationKeyFileError(`the workstation key in ${path} is not an ECC P-256 key`);
  }
  return { privateKey, publicKeyPem: createPublicKey(privateKey).export({ format: 'pem', type: 'spki' }).toString() };
}

/** The headers that make one request a credential-provider request. */
export function signCredentialProviderRequest(
  key: KeyObject,
  request: { workstationId: string; method: string; path: string; body?: Uint8Array | string; now?: Date },
): Record<string, string> {
  const timestamp = String((request.now ?? new Date()).getTime());
  const nonce = randomBytes(18).toString('base64url');
  const body = typeof request.body === 'string' ? Buffer.from(request.body) : (request.body ?? new Uint8Array());
  const signature = sign('sha256', credentialProviderMessage({ method: request.method, path: request.path, timestamp, nonce, body }), { key, dsaEncoding: 'der' });
  return {
    [CP_HEADERS.mode]: CREDENTIAL_PROVIDER_MODE,
    [CP_HEADERS.workstation]: request.workstationId,
    [CP_HEADERS.timestamp]: timestamp,
    [CP_HEADERS.nonce]: nonce,
    [CP_HEADERS.signature]: signature.toString('base64'),
  };
}
