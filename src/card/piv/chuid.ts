// The Card Holder Unique Identifier object: built at issuance, read to find the card's GUID.
import { randomBytes } from 'node:crypto';
import { InvalidResponseError } from '../card-errors.ts';
import { decodeTlvs, encodeTlvs } from '../tlv.ts';
import { CHUID_TAG } from './piv-constants.ts';

/**
 * FASC-N of a card that is not a U.S. federal credential: agency code 9999, all other fields
 * zero, encoded in the 5-bit BCD form of TIG SCEPACS. Commercial issuers use this same value.
 */
const NON_FEDERAL_FASCN = Buffer.from('D4E739DA739CED39CE739D836858210842108421C84210C3EB', 'hex');

export interface ChuidContents {
  guid: Uint8Array;
  /** YYYYMMDD */
  expiration: string;
}

export function buildChuid(contents: Partial<ChuidContents> = {}): Uint8Array {
  const guid = contents.guid ?? new Uint8Array(randomBytes(16));
  const expiration = contents.expiration ?? '20991231';
  return encodeTlvs(
    { tag: CHUID_TAG.FASCN, value: NON_FEDERAL_FASCN },
    { tag: CHUID_TAG.GUID, value: guid },
    { tag: CHUID_TAG.EXPIRATION, value: new TextEncoder().encode(expiration) },
    { tag: CHUID_TAG.SIGNATURE, value: new Uint8Array(0) },
    { tag: CHUID_TAG.LRC, value: new Uint8Array(0) },
  );
}

/** The 16-byte GUID of a CHUID, or an error when the object holds none. */
export function parseChuidGuid(chuid: Uint8Array): Uint8Array {
  let tlvs;
  try {
    tlvs = decodeTlvs(chuid);
  } catch (error) {
    throw new InvalidResponseError('the CHUID is not valid BER-TLV', { cause: error });
  }
  const guid = tlvs.find((t) => t.tag === CHUID_TAG.GUID)?.value;
  if (!guid || guid.length !== 16) throw new InvalidResponseError('the CHUID holds no 16-byte GUID');
  return Uint8Array.from(guid);
}
