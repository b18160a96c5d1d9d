// Private keys held by the virtual PIV card: generation, import, and the card's private-key operations.
import { constants, createPrivateKey, createPublicKey, generateKeyPairSync, privateDecrypt, type KeyObject } from 'node:crypto';
import { p256, p384 } from '@noble/curves/nist.js';
import { PIV_ALGORITHM } from '../../card/piv/piv-constants.ts';

export interface StoredKey {
  algorithm: number;
  /** EC: the private scalar; RSA: PKCS#8 DER. Hex. */
  privateKey: string;
}

const EC_CURVES = new Map([
  [PIV_ALGORITHM.ECC_P256 as number, { curve: p256, size: 32, crv: 'P-256' }],
  [PIV_ALGORITHM.ECC_P384 as number, { curve: p384, size: 48, crv: 'P-384' }],
]);

const RSA_BITS = new Map([
  [PIV_ALGORITHM.RSA_1024 as number, 1024],
  [PIV_ALGORITHM.RSA_2048 as number, 2048],
]);

export function isEcAlgorithm(algorithm: number): boolean {
  return EC_CURVES.has(algorithm);
}

/** Bytes of the raw RSA block or the EC field size: what a private-key operation takes. */
export function keySizeInBytes(algorithm: number): number {
  const ec = EC_CURVES.get(algorithm);
  if (ec) return ec.size;
  const bits = RSA_BITS.get(algorithm);
  return bits ? bits / 8 : 0;
}

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');
const unhex = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, 'hex'));
const b64u = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64url');

export function generateStoredKey(algorithm: number): StoredKey {
  const ec = EC_CURVES.get(algorithm);
  if (ec) return { algorithm, privateKey: hex(ec.curve.utils.randomSecretKey()) };
  const bits = RSA_BITS.get(algorithm);
  if (!bits) throw new RangeError(`no key generation for algorithm ${algorithm}`);
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: bits, publicExponent: 65537 });
  return { algorithm, privateKey: hex(privateKey.export({ format: 'der', type: 'pkcs8' })) };
}

function ecPublicKeyObject(algorithm: number, scalar: Uint8Array): KeyObject {
  const ec = EC_CURVES.get(algorithm)!;
  const point = ec.curve.getPublicKey(scalar, false);
  return createPublicKey({
    key: { kty: 'EC', crv: ec.crv, x: b64u(point.subarray(1, 1 + ec.size)), y: b64u(point.subarray(1 + ec.size)) },
    format: 'jwk',
  });
}

export function publicKeyOf(key: StoredKey): KeyObject {
  if (EC_CURVES.has(key.algorithm)) return ecPublicKeyObject(key.algorithm, unhex(key.privateKey));
  return createPublicKey(createPrivateKey({ key: Buffer.from(key.privateKey, 'hex'), format: 'der', type: 'pkcs8' }));
}

/** ECDSA over the given digest (as the card receives it, already hashed), DER-encoded. */
export function ecdsaSign(key: StoredKey, digest: Uint8Array): Uint8Array {
  const ec = EC_CURVES.get(key.algorithm)!;
  return ec.curve.sign(digest, unhex(key.privateKey), { prehash: false, format: 'der' });
}

/** ECDH: the x coordinate of the shared point. */
export function ecdh(key: StoredKey, peerPoint: Uint8Array): Uint8Array {
  const ec = EC_CURVES.get(key.algorithm)!;
  const shared = ec.curve.getSharedSecret(unhex(key.privateKey), peerPoint, true);
  return shared.subarray(1);
}

/** The raw RSA private operation (signing a padded block, or decrypting). */
export function rsaPrivate(key: StoredKey, block: Uint8Array): Uint8Array {
  const privateKey = createPrivateKey({ key: Buffer.from(key.privateKey, 'hex'), format: 'der', type: 'pkcs8' });
  return new Uint8Array(privateDecrypt({ key: privateKey, padding: constants.RSA_NO_PADDING }, block));
}

export function isValidEcScalar(algorithm: number, scalar: Uint8Array): boolean {
  const ec = EC_CURVES.get(algorithm);
  return !!ec && scalar.length === ec.size && ec.curve.utils.isValidSecretKey(scalar);
}

export function isValidEcPoint(algorithm: number, point: Uint8Array): boolean {
  const ec = EC_CURVES.get(algorithm);
  if (!ec || point.length !== 1 + 2 * ec.size) return false;
  return ec.curve.utils.isValidPublicKey(point, false);
}

export function importEcKey(algorithm: number, scalar: Uint8Array): StoredKey {
  return { algorithm, privateKey: hex(scalar) };
}

const toBigInt = (bytes: Uint8Array): bigint => (bytes.length === 0 ? 0n : BigInt(`0x${hex(bytes)}`));

function fromBigInt(value: bigint, length?: number): Uint8Array {
  let text = value.toString(16);
  if (text.length % 2) text = `0${text}`;
  const bytes = unhex(text);
  if (length === undefined || bytes.length >= length) return bytes;
  const out = new Uint8Array(length);
  out.set(bytes, length - bytes.length);
  return out;
}

function modInverse(a: bigint, m: bigint): bigint {
  let [oldR, r] = [a % m, m];
  let [oldS, s] = [1n, 0n];
  while (r !== 0n) {
    const q = oldR / r;
    [oldR, r] = [r, oldR - q * r];
    [oldS, s] = [s, oldS - q * s];
  }
  if (oldR !== 1n) throw new RangeError('not invertible');
  return ((oldS % m) + m) % m;
}

/**
 * Imports an RSA key given as CRT parts (what IMPORT KEY carries); the public exponent is 65537,
 * the only one YubiKeys accept. Returns undefined when the parts do not form a key.
 */
export function importRsaKey(algorithm: number, parts: { p: Uint8Array; q: Uint8Array; dp: Uint8Array; dq: Uint8Array; qinv: Uint8Array }): StoredKey | undefined {
  const bits = RSA_BITS.get(algorithm);
  if (!bits) return undefined;
  const p = toBigInt(parts.p);
  const q = toBigInt(parts.q);
  const e = 65537n;
  const n = p * q;
  if (p < 3n || q < 3n || n.toString(2).length !== bits) return undefined;
  let d: bigint;
  try {
    d = modInverse(e, (p - 1n) * (q - 1n));
  } catch {
    return undefined;
  }
  if (d % (p - 1n) !== toBigInt(parts.dp) || d % (q - 1n) !== toBigInt(parts.dq) || modInverse(q, p) !== toBigInt(parts.qinv)) return undefined;
  try {
    const privateKey = createPrivateKey({
      key: {
        kty: 'RSA',
        n: b64u(fromBigInt(n)),
        e: b64u(fromBigInt(e)),
        d: b64u(fromBigInt(d)),
        p: b64u(fromBigInt(p)),
        q: b64u(fromBigInt(q)),
        dp: b64u(fromBigInt(toBigInt(parts.dp))),
        dq: b64u(fromBigInt(toBigInt(parts.dq))),
        qi: b64u(fromBigInt(toBigInt(parts.qinv))),
      },
      format: 'jwk',
    });
    return { algorithm, privateKey: hex(privateKey.export({ format: 'der', type: 'pkcs8' })) };
  } catch {
    return undefined;
  }
}
