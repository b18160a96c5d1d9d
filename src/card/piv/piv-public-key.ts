// Public keys as PIV cards return them (template 7F49), to and from node:crypto KeyObjects.
import { createPublicKey, type KeyObject } from 'node:crypto';
import { InvalidResponseError } from '../card-errors.ts';
import { decodeTlvMap, encodeTlvs } from '../tlv.ts';
import { PIV_ALGORITHM } from './piv-constants.ts';

const TAG_MODULUS = 0x81;
const TAG_EXPONENT = 0x82;
const TAG_POINT = 0x86;

const CURVES: ReadonlyMap<number, { crv: string; size: number }> = new Map([
  [PIV_ALGORITHM.ECC_P256, { crv: 'P-256', size: 32 }],
  [PIV_ALGORITHM.ECC_P384, { crv: 'P-384', size: 48 }],
]);

const b64u = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64url');
const fromB64u = (text: string | undefined): Uint8Array => new Uint8Array(Buffer.from(text ?? '', 'base64url'));

/** The content of a 7F49 template (without the 7F49 wrapper) for a public key. */
export function encodePublicKeyContent(publicKey: KeyObject): Uint8Array {
  const jwk = publicKey.export({ format: 'jwk' });
  if (jwk.kty === 'RSA') {
    return encodeTlvs({ tag: TAG_MODULUS, value: fromB64u(jwk.n) }, { tag: TAG_EXPONENT, value: fromB64u(jwk.e) });
  }
  const point = Uint8Array.from([0x04, ...fromB64u(jwk.x), ...fromB64u(jwk.y)]);
  return encodeTlvs({ tag: TAG_POINT, value: point });
}

/** Reads the content of a 7F49 template for a key of `algorithm`. */
export function decodePublicKeyContent(algorithm: number, content: Uint8Array): KeyObject {
  try {
    const fields = decodeTlvMap(content);
    const curve = CURVES.get(algorithm);
    if (curve) {
      const point = fields.get(TAG_POINT);
      if (!point || point.length !== 1 + 2 * curve.size || point[0] !== 0x04) throw new InvalidResponseError('bad EC point');
      return createPublicKey({
        key: { kty: 'EC', crv: curve.crv, x: b64u(point.subarray(1, 1 + curve.size)), y: b64u(point.subarray(1 + curve.size)) },
        format: 'jwk',
      });
    }
    const n = fields.get(TAG_MODULUS);
    const e = fields.get(TAG_EXPONENT);
    if (!n || !e) throw new InvalidResponseError('RSA public key without modulus or exponent');
    return createPublicKey({ key: { kty: 'RSA', n: b64u(n), e: b64u(e) }, format: 'jwk' });
  } catch (error) {
    if (error instanceof InvalidResponseError) throw error;
    throw new InvalidResponseError('the card returned a malformed public key', { cause: error });
  }
}
