// Per-card key diversification: NIST SP 800-108 counter-mode KDF over HMAC-SHA256, and the 3DES key checks around it.
import { KeyStoreInputError } from './key-store-errors.ts';
import { isDegenerateTripleDesKey } from '../../card/triple-des.ts';

/** HMAC-SHA256 under the master derivation secret, computed wherever that secret lives (memory or PKCS#11 token). */
export type HmacSha256Prf = (data: Uint8Array) => Promise<Uint8Array>;

export type CardType = 'piv' | 'gids';
export type CardKeyPurpose = 'piv-management' | 'gids-admin';
/** `tdes` is three-key 3DES (24 bytes); AES lengths are for PIV management keys on cards that take them (YubiKey ≥ 5.4). */
export type CardKeyAlgorithm = 'tdes' | 'aes128' | 'aes192' | 'aes256';

export interface CardKeyRequest {
  cardType: CardType;
  /** The card identifier of DESIGN.md: PIV CHUID GUID or GIDS card id (16 bytes; 1..255 accepted). */
  cardIdentifier: Uint8Array;
  /** Bumped to rotate a card's key: a new version gives an unrelated key from the same master. */
  keyVersion: number;
  purpose: CardKeyPurpose;
  /** Defaults to `tdes`; a GIDS admin key is always `tdes`. */
  algorithm?: CardKeyAlgorithm;
}

const KEY_LENGTHS: Record<CardKeyAlgorithm, number> = { tdes: 24, aes128: 16, aes192: 24, aes256: 32 };
const PURPOSE_CARD_TYPE: Record<CardKeyPurpose, CardType> = { 'piv-management': 'piv', 'gids-admin': 'gids' };
const MAX_KEY_VERSION = 0xffff_ffff;
/** A degenerate 3DES result has probability about 2^-55 per try; 16 tries failing means the PRF is broken. */
const MAX_DERIVATION_ATTEMPTS = 16;
const HMAC_SHA256_LENGTH = 32;

function uint32(value: number): Uint8Array {
  const bytes = new Uint8Array(4);
  new DataView(bytes.buffer).setUint32(0, value, false);
  return bytes;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/**
 * SP 800-108 (rev. 1) section 4.1, KDF in counter mode, PRF = HMAC-SHA256, r = 32:
 *   K(i) = PRF(K_master, [i]_32 || Label || 0x00 || Context || [L]_32),  i = 1..ceil(L/256)
 * with [x]_32 big-endian and L the output length in bits; the output is the first L bits of K(1) || K(2) || ...
 */
export async function sp800108CounterKdf(prf: HmacSha256Prf, label: Uint8Array, context: Uint8Array, lengthBytes: number): Promise<Uint8Array> {
  if (!Number.isInteger(lengthBytes) || lengthBytes < 1 || lengthBytes > 1024) {
    throw new KeyStoreInputError('derived key length must be 1..1024 bytes');
  }
  const fixed = concat(label, Uint8Array.of(0), context, uint32(lengthBytes * 8));
  const blocks: Uint8Array[] = [];
  for (let i = 1; blocks.length * HMAC_SHA256_LENGTH < lengthBytes; i++) {
    blocks.push(await prf(concat(uint32(i), fixed)));
  }
  return concat(...blocks).slice(0, lengthBytes);
}

/**
 * The Context of a card key, unambiguous by construction (every variable part is length-prefixed):
 *   len(cardType) [1 byte] || cardType (ASCII: "piv" | "gids") || len(cardIdentifier) [1 byte] || cardIdentifier || [keyVersion]_32
 */
export function encodeCardKeyContext(request: Pick<CardKeyRequest, 'cardType' | 'cardIdentifier' | 'keyVersion'>): Uint8Array {
  const { cardType, cardIdentifier, keyVersion } = request;
  if (cardType !== 'piv' && cardType !== 'gids') throw new KeyStoreInputError('card type must be "piv" or "gids"');
  if (!(cardIdentifier instanceof Uint8Array) || cardIdentifier.length < 1 || cardIdentifier.length > 255) {
    throw new KeyStoreInputError('card identifier must be 1..255 bytes');
  }
  if (!Number.isInteger(keyVersion) || keyVersion < 0 || keyVersion > MAX_KEY_VERSION) {
    throw new KeyStoreInputError('key version must be an integer 0..4294967295');
  }
  const type = new TextEncoder().encode(cardType);
  return concat(Uint8Array.of(type.length), type, Uint8Array.of(cardIdentifier.length), cardIdentifier, uint32(keyVersion));
}

/**
 * The Label of a card key: the purpose in ASCII ("piv-management", "gids-admin") for 3DES keys, and
 * purpose ":" algorithm (e.g. "piv-management:aes192") for AES keys, so that a card's AES-192 and 3DES keys
 * (same length, hence same [L]_32) are unrelated.
 */
export function cardKeyLabel(purpose: CardKeyPurpose, algorithm: CardKeyAlgorithm): Uint8Array {
  return new TextEncoder().encode(algorithm === 'tdes' ? purpose : `${purpose}:${algorithm}`);
}

export { isDegenerateTripleDesKey };

/**
 * Derives a card key. A degenerate 3DES result is never returned and never fails issuance: attempt n ≥ 1 appends
 * the iteration byte [n]_8 to the Context (attempt 0 is the plain construction above), and the first good result
 * is the key. Because the rule is deterministic, every server derives the same key for the same card.
 */
export async function deriveCardKeyBytes(prf: HmacSha256Prf, request: CardKeyRequest): Promise<Uint8Array> {
  const algorithm = request.algorithm ?? 'tdes';
  if (!(algorithm in KEY_LENGTHS)) throw new KeyStoreInputError('unknown card key algorithm');
  if (!(request.purpose in PURPOSE_CARD_TYPE)) throw new KeyStoreInputError('unknown card key purpose');
  if (PURPOSE_CARD_TYPE[request.purpose] !== request.cardType) {
    throw new KeyStoreInputError(`a ${request.purpose} key is only for ${PURPOSE_CARD_TYPE[request.purpose]} cards`);
  }
  if (request.purpose === 'gids-admin' && algorithm !== 'tdes') throw new KeyStoreInputError('a GIDS admin key is always 3DES');
  const context = encodeCardKeyContext(request);
  const label = cardKeyLabel(request.purpose, algorithm);
  for (let attempt = 0; attempt < MAX_DERIVATION_ATTEMPTS; attempt++) {
    const attemptContext = attempt === 0 ? context : concat(context, Uint8Array.of(attempt));
    const key = await sp800108CounterKdf(prf, label, attemptContext, KEY_LENGTHS[algorithm]);
    if (algorithm !== 'tdes' || !isDegenerateTripleDesKey(key)) return key;
  }
  throw new KeyStoreInputError('the key derivation keeps giving degenerate 3DES keys: the master secret is unusable');
}

/** A 32-byte key for one internal purpose (PIN history, audit MAC), from the same KDF with its own Label. */
export async function deriveInternalKey(prf: HmacSha256Prf, label: string, context: Uint8Array = new Uint8Array(0)): Promise<Uint8Array> {
  return await sp800108CounterKdf(prf, new TextEncoder().encode(label), context, 32);
}
