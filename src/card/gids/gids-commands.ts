// GIDS command APDUs and answer parsers as plain functions, so a session and a relay batch build the same bytes.
import { timingSafeEqual } from 'node:crypto';
import type { Secret } from '../../secret.ts';
import type { CommandApdu } from '../apdu.ts';
import { InvalidArgumentError, InvalidResponseError, PinFormatError } from '../card-errors.ts';
import { concatBytes, decodeTlv, decodeTlvMap, encodeTlv, encodeTlvs, requireTag } from '../tlv.ts';
import { isDegenerateTripleDesKey } from '../triple-des.ts';
import { adminKeyDecrypt, adminKeyEncrypt } from './gids-admin-crypto.ts';
import {
  EXTERNAL_CHALLENGE_LENGTH,
  GIDS_ADMIN_KEY_LENGTH,
  GIDS_ADMIN_KEY_REFERENCE,
  GIDS_AID,
  GIDS_APPLICATION_FILE,
  GIDS_CHANGE_PIN_P1,
  GIDS_DO,
  GIDS_DYNAMIC_AUTH,
  GIDS_INS,
  GIDS_MSE_AUTHENTICATION_TEMPLATE,
  GIDS_MSE_SET_AUTHENTICATION_P1,
  GIDS_PIN_MAX_LENGTH,
  GIDS_PIN_MIN_LENGTH,
  GIDS_PIN_REFERENCE,
  GIDS_RESET_RETRY_COUNTER_P1,
  MUTUAL_CRYPTOGRAM_LENGTH,
  MUTUAL_RANDOM_LENGTH,
} from './gids-constants.ts';

export interface PinStatus {
  triesLeft: number;
  limit: number;
}

/** Value of tag 88 in the admin key template, byte for byte what gids-tool sends; cards ignore it. */
const ADMIN_KEY_FILE_FIELD = Uint8Array.of(0xb0, 0x73, 0xdc);
/** Padding byte that ends the 7 random bytes of Z1/Z2 in mutual authentication. */
const MUTUAL_PADDING = 0x80;

const command = (ins: number, p1: number, p2: number, data?: Uint8Array, le?: number): CommandApdu => ({
  cla: 0x00,
  ins,
  p1,
  p2,
  ...(data ? { data } : {}),
  ...(le ? { le } : {}),
});

// --- Values checked before they reach a card ----------------------------------------------

/** A PIN the card will take: 4 to 16 printable ASCII characters, sent without padding. */
export function newPinBytes(pin: Secret): Uint8Array {
  const bytes = pin.expose();
  if (bytes.length < GIDS_PIN_MIN_LENGTH || bytes.length > GIDS_PIN_MAX_LENGTH) {
    throw new PinFormatError(`a GIDS PIN must have ${GIDS_PIN_MIN_LENGTH} to ${GIDS_PIN_MAX_LENGTH} characters`);
  }
  if (!bytes.every((b) => b >= 0x20 && b <= 0x7e)) throw new PinFormatError('a GIDS PIN must be printable ASCII');
  return bytes;
}

/** A PIN presented for comparison: only its length is checked, so a card's existing PIN is never refused here. */
export function presentedPinBytes(pin: Secret): Uint8Array {
  const bytes = pin.expose();
  if (bytes.length < GIDS_PIN_MIN_LENGTH || bytes.length > GIDS_PIN_MAX_LENGTH) {
    throw new PinFormatError(`a GIDS PIN has ${GIDS_PIN_MIN_LENGTH} to ${GIDS_PIN_MAX_LENGTH} characters`);
  }
  return bytes;
}

export function adminKeyBytes(key: Secret): Uint8Array {
  const bytes = key.expose();
  if (bytes.length !== GIDS_ADMIN_KEY_LENGTH) throw new InvalidArgumentError(`a GIDS admin key has ${GIDS_ADMIN_KEY_LENGTH} bytes, got ${bytes.length}`);
  return bytes;
}

/** A new admin key: 24 bytes and real 3DES (a key that degenerates to single DES is refused). */
export function newAdminKeyBytes(key: Secret): Uint8Array {
  const bytes = adminKeyBytes(key);
  if (isDegenerateTripleDesKey(bytes)) throw new InvalidArgumentError('the new admin key degenerates to single DES (K1 = K2 or K2 = K3)');
  return bytes;
}

// --- Commands ------------------------------------------------------------------------------

export function selectApplicationCommand(): CommandApdu {
  return command(GIDS_INS.SELECT, 0x04, 0x00, GIDS_AID, 256);
}

export function pinStatusCommand(): CommandApdu {
  return getDataCommand(GIDS_APPLICATION_FILE, GIDS_DO.PIN_STATUS);
}

/** GET DATA of one data object of an EF. */
export function getDataCommand(file: number, tag: number): CommandApdu {
  return command(GIDS_INS.GET_DATA, file >> 8, file & 0xff, encodeTlv(GIDS_DO.TAG_LIST, Uint8Array.of(tag >> 8, tag & 0xff)), 256);
}

/** PUT DATA of one data object into an EF. */
export function putDataCommand(file: number, tag: number, content: Uint8Array): CommandApdu {
  return command(GIDS_INS.PUT_DATA, file >> 8, file & 0xff, encodeTlv(tag, content));
}

export function verifyPinCommand(pin: Secret): CommandApdu {
  return command(GIDS_INS.VERIFY, 0x00, GIDS_PIN_REFERENCE, presentedPinBytes(pin));
}

/** CHANGE REFERENCE DATA with the current and new PIN concatenated, unpadded: the card knows where the old one ends. */
export function changePinCommand(currentPin: Secret, newPin: Secret): CommandApdu {
  return command(GIDS_INS.CHANGE_REFERENCE_DATA, GIDS_CHANGE_PIN_P1.OLD_AND_NEW, GIDS_PIN_REFERENCE, concatBytes(presentedPinBytes(currentPin), newPinBytes(newPin)));
}

/** CHANGE REFERENCE DATA P1 01: the first PIN of a blank card (or a new PIN right after VERIFY). */
export function setPinCommand(pin: Secret): CommandApdu {
  return command(GIDS_INS.CHANGE_REFERENCE_DATA, GIDS_CHANGE_PIN_P1.NEW_ONLY, GIDS_PIN_REFERENCE, newPinBytes(pin));
}

/** MANAGE SECURITY ENVIRONMENT: the admin key is the one the next GENERAL AUTHENTICATE uses. */
export function selectAdminKeyCommand(): CommandApdu {
  return command(
    GIDS_INS.MANAGE_SECURITY_ENVIRONMENT,
    GIDS_MSE_SET_AUTHENTICATION_P1,
    GIDS_MSE_AUTHENTICATION_TEMPLATE,
    encodeTlv(0x83, Uint8Array.of(GIDS_ADMIN_KEY_REFERENCE)),
  );
}

function generalAuthenticateCommand(tag: number, value: Uint8Array): CommandApdu {
  return command(GIDS_INS.GENERAL_AUTHENTICATE, 0x00, 0x00, encodeTlv(GIDS_DYNAMIC_AUTH.TEMPLATE, encodeTlv(tag, value)), 256);
}

/** External authentication, step 1: ask the card for its 8-byte challenge. */
export function challengeCommand(): CommandApdu {
  return generalAuthenticateCommand(GIDS_DYNAMIC_AUTH.CHALLENGE, new Uint8Array(0));
}

/** External authentication, step 2: the challenge encrypted under the admin key. */
export function challengeResponseCommand(response: Uint8Array): CommandApdu {
  if (response.length !== EXTERNAL_CHALLENGE_LENGTH) throw new InvalidArgumentError(`a challenge response has ${EXTERNAL_CHALLENGE_LENGTH} bytes, got ${response.length}`);
  return generalAuthenticateCommand(GIDS_DYNAMIC_AUTH.RESPONSE, response);
}

/** Mutual authentication, step 1: the host's 16-byte random R1. */
export function mutualAuthenticationStartCommand(hostRandom: Uint8Array): CommandApdu {
  if (hostRandom.length !== MUTUAL_RANDOM_LENGTH) throw new InvalidArgumentError(`R1 has ${MUTUAL_RANDOM_LENGTH} bytes, got ${hostRandom.length}`);
  return generalAuthenticateCommand(GIDS_DYNAMIC_AUTH.CHALLENGE, hostRandom);
}

/** Mutual authentication, step 2: 3DES-CBC(R2 ‖ R1 ‖ Z1), Z1 being 7 random bytes and the padding byte 80. */
export function mutualAuthenticationCryptogramCommand(adminKey: Secret, hostRandom: Uint8Array, cardRandom: Uint8Array, z1Random: Uint8Array): CommandApdu {
  if (z1Random.length !== 7) throw new InvalidArgumentError(`Z1 takes 7 random bytes, got ${z1Random.length}`);
  const cryptogram = adminKeyEncrypt(adminKeyBytes(adminKey), concatBytes(cardRandom, hostRandom, z1Random, Uint8Array.of(MUTUAL_PADDING)));
  return generalAuthenticateCommand(GIDS_DYNAMIC_AUTH.RESPONSE, cryptogram);
}

/** RESET RETRY COUNTER with a new PIN; the card wants an admin authentication just before. */
export function resetRetryCounterCommand(newPin: Secret): CommandApdu {
  return command(GIDS_INS.RESET_RETRY_COUNTER, GIDS_RESET_RETRY_COUNTER_P1, GIDS_PIN_REFERENCE, newPinBytes(newPin));
}

/** PUT DATA 3F FF of a key template that writes a 3DES key into the admin key file (B0 80). */
export function putAdminKeyCommand(key: Uint8Array): CommandApdu {
  const template = encodeTlv(
    GIDS_DO.KEY_TEMPLATE,
    encodeTlvs(
      { tag: GIDS_DO.KEY_REFERENCE, value: Uint8Array.of(GIDS_ADMIN_KEY_REFERENCE) },
      { tag: GIDS_DO.KEY_VALUE_TEMPLATE, value: encodeTlvs({ tag: GIDS_DO.KEY_VALUE, value: key }, { tag: GIDS_DO.KEY_FILE, value: ADMIN_KEY_FILE_FIELD }) },
    ),
  );
  return command(GIDS_INS.PUT_DATA, GIDS_APPLICATION_FILE >> 8, GIDS_APPLICATION_FILE & 0xff, template);
}

/** Replacing the admin key: the new key must be real 3DES. */
export function changeAdminKeyCommand(newKey: Secret): CommandApdu {
  return putAdminKeyCommand(newAdminKeyBytes(newKey));
}

// --- Answers -------------------------------------------------------------------------------

export function parsePinStatus(data: Uint8Array): PinStatus {
  const operation = 'reading the PIN status';
  const status = decodeTlv(data);
  if (status.tag !== GIDS_DO.PIN_STATUS) throw new InvalidResponseError(`${operation}: unexpected tag ${status.tag.toString(16)}`);
  const fields = decodeTlvMap(status.value);
  const tries = requireTag(fields, GIDS_DO.TRIES_LEFT, operation);
  const limit = requireTag(fields, GIDS_DO.TRY_LIMIT, operation);
  if (tries.length !== 1 || limit.length !== 1) throw new InvalidResponseError(`${operation}: malformed counters`);
  return { triesLeft: tries[0]!, limit: limit[0]! };
}

/** A field of the card's dynamic authentication template (7C), of the expected length. */
export function dynamicAuthenticationField(data: Uint8Array, tag: number, length: number, operation: string): Uint8Array {
  const template = decodeTlv(data);
  if (template.tag !== GIDS_DYNAMIC_AUTH.TEMPLATE) throw new InvalidResponseError(`${operation}: no dynamic authentication template`);
  const value = requireTag(decodeTlvMap(template.value), tag, operation);
  if (value.length !== length) throw new InvalidResponseError(`${operation}: expected ${length} bytes, got ${value.length}`);
  return Uint8Array.from(value);
}

export function parseChallenge(data: Uint8Array): Uint8Array {
  return dynamicAuthenticationField(data, GIDS_DYNAMIC_AUTH.CHALLENGE, EXTERNAL_CHALLENGE_LENGTH, 'reading the admin key challenge');
}

export function parseCardRandom(data: Uint8Array): Uint8Array {
  return dynamicAuthenticationField(data, GIDS_DYNAMIC_AUTH.CHALLENGE, MUTUAL_RANDOM_LENGTH, 'admin key mutual authentication');
}

/** Whether the card's final answer in mutual authentication is 3DES-CBC(R1 ‖ R2 ‖ Z2) under the admin key: its proof of holding the key. */
export function isValidCardProof(adminKey: Secret, hostRandom: Uint8Array, cardRandom: Uint8Array, data: Uint8Array): boolean {
  const cryptogram = dynamicAuthenticationField(data, GIDS_DYNAMIC_AUTH.RESPONSE, MUTUAL_CRYPTOGRAM_LENGTH, 'admin key mutual authentication');
  const plain = adminKeyDecrypt(adminKeyBytes(adminKey), cryptogram);
  return timingSafeEqual(plain.subarray(0, 2 * MUTUAL_RANDOM_LENGTH), concatBytes(hostRandom, cardRandom)) && plain[MUTUAL_CRYPTOGRAM_LENGTH - 1] === MUTUAL_PADDING;
}

/** The AID in a SELECT answer's FCI (61 { 4F aid ... }), if present and well formed. */
export function applicationIdFromFci(data: Uint8Array): Uint8Array | undefined {
  if (data.length === 0) return undefined;
  try {
    const fci = decodeTlv(data);
    if (fci.tag !== 0x61) return undefined;
    const aid = decodeTlvMap(fci.value).get(0x4f);
    return aid ? Uint8Array.from(aid) : undefined;
  } catch {
    return undefined;
  }
}
