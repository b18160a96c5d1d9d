// A session with a card's PIV application (NIST SP 800-73-4 and the YubiKey extensions).
import { randomBytes, timingSafeEqual, type KeyObject } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import type { Secret } from '../../secret.ts';
import { ApduConnection, type ApduConnectionOptions } from '../apdu-connection.ts';
import type { CommandApdu, ResponseApdu } from '../apdu.ts';
import {
  ApplicationNotFoundError,
  AuthenticationFailedError,
  CardStatusError,
  DataObjectNotFoundError,
  InvalidArgumentError,
  InvalidPinError,
  InvalidPukError,
  InvalidResponseError,
  NotSupportedError,
  PinBlockedError,
  PinFormatError,
  PukBlockedError,
  SecurityStatusError,
} from '../card-errors.ts';
import type { CardTransport } from '../card-transport.ts';
import { SW, triesLeftFromStatusWord } from '../status-words.ts';
import { decodeTlv, decodeTlvMap, encodeTlv, encodeTlvs, concatBytes, requireTag } from '../tlv.ts';
import { buildChuid, parseChuidGuid } from './chuid.ts';
import { decryptManagementBlock, encryptManagementBlock, managementKeyParameters } from './management-key-cipher.ts';
import {
  CERTIFICATE_TAG,
  DYNAMIC_AUTH,
  METADATA_TAG,
  PIN_BLOCK_LENGTH,
  PIN_PAD,
  PIN_POLICY,
  PIV_AID,
  PIV_INS,
  PIV_KEY_REFERENCE,
  PIV_OBJECT,
  PIV_TAG,
  TOUCH_POLICY,
  certificateObjectOfSlot,
  isAsymmetricAlgorithm,
  type AsymmetricAlgorithm,
  type ManagementKeyAlgorithm,
} from './piv-constants.ts';
import { decodePublicKeyContent } from './piv-public-key.ts';

export interface FirmwareVersion {
  major: number;
  minor: number;
  patch: number;
}

export interface ReferenceDataMetadata {
  isDefault: boolean;
  retryLimit: number;
  triesLeft: number;
}

export interface ManagementKeyMetadata {
  algorithm: number;
  isDefault: boolean;
  touchRequired: boolean;
}

export interface SlotMetadata {
  algorithm: number;
  pinPolicy: number;
  touchPolicy: number;
  /** 1 generated on the card, 2 imported. */
  origin: number;
  publicKey: KeyObject;
}

export interface KeyPolicies {
  pinPolicy?: number;
  touchPolicy?: number;
}

const PIN_MIN_LENGTH = 6;
/** A certificate larger than this is not something a PIV card holds. */
const MAX_CERTIFICATE_LENGTH = 64 * 1024;

/** The version from which YubiKeys answer GET METADATA. */
const METADATA_SINCE: FirmwareVersion = { major: 5, minor: 3, patch: 0 };

function atLeast(version: FirmwareVersion | undefined, wanted: FirmwareVersion): boolean {
  if (!version) return false;
  if (version.major !== wanted.major) return version.major > wanted.major;
  if (version.minor !== wanted.minor) return version.minor > wanted.minor;
  return version.patch >= wanted.patch;
}

/** Pads a PIN or PUK to the 8-byte block the card compares; refuses what no PIV card accepts. */
function pinBlock(value: Secret, what: 'PIN' | 'PUK', minimum = 1): Uint8Array {
  const bytes = value.expose();
  if (bytes.length < minimum || bytes.length > PIN_BLOCK_LENGTH) {
    throw new PinFormatError(`a ${what} must have ${minimum === 1 ? 'at most' : `${minimum} to`} ${PIN_BLOCK_LENGTH} characters`);
  }
  if (bytes.includes(PIN_PAD)) throw new PinFormatError(`a ${what} cannot contain the byte FF`);
  const block = new Uint8Array(PIN_BLOCK_LENGTH).fill(PIN_PAD);
  block.set(bytes);
  return block;
}

function objectTagBytes(tag: number): Uint8Array {
  if (tag <= 0xff) return Uint8Array.of(tag);
  if (tag <= 0xffff) return Uint8Array.of(tag >> 8, tag & 0xff);
  return Uint8Array.of(tag >> 16, (tag >> 8) & 0xff, tag & 0xff);
}

/**
 * One PIV application on one card. Create it with `PivSession.open`, which selects the
 * application; every status word that means something becomes a typed error here.
 */
export class PivSession {
  private constructor(
    private readonly connection: ApduConnection,
    /** Firmware version of a YubiKey; undefined on cards without GET VERSION. */
    readonly version: FirmwareVersion | undefined,
  ) {}

  static async open(transport: CardTransport, options: ApduConnectionOptions = {}): Promise<PivSession> {
    const connection = new ApduConnection(transport, options);
    const selected = await connection.send({ cla: 0, ins: PIV_INS.SELECT, p1: 0x04, p2: 0x00, data: PIV_AID });
    if (selected.sw === SW.FILE_NOT_FOUND) throw new ApplicationNotFoundError('the card has no PIV application');
    if (selected.sw !== SW.SUCCESS) throw new CardStatusError(selected.sw, 'selecting the PIV application');
    const versionAnswer = await connection.send({ cla: 0, ins: PIV_INS.GET_VERSION, p1: 0, p2: 0 });
    let version: FirmwareVersion | undefined;
    if (versionAnswer.sw === SW.SUCCESS && versionAnswer.data.length === 3) {
      const [major, minor, patch] = versionAnswer.data as unknown as [number, number, number];
      version = { major, minor, patch };
    }
    return new PivSession(connection, version);
  }

  /** APDUs exchanged since the session was opened. */
  get apduCount(): number {
    return this.connection.apduCount;
  }

  get supportsMetadata(): boolean {
    return atLeast(this.version, METADATA_SINCE);
  }

  async #send(command: Omit<CommandApdu, 'cla'>): Promise<ResponseApdu> {
    return this.connection.send({ cla: 0, ...command });
  }

  /** Sends a command whose only good answer is 9000; anything else becomes a typed error. */
  async #expectSuccess(operation: string, command: Omit<CommandApdu, 'cla'>): Promise<Uint8Array> {
    const response = await this.#send(command);
    if (response.sw === SW.SUCCESS) return response.data;
    throw this.#errorFor(response.sw, operation);
  }

  #errorFor(sw: number, operation: string): Error {
    switch (sw) {
      case SW.SECURITY_STATUS_NOT_SATISFIED:
        return new SecurityStatusError(operation);
      case SW.INS_NOT_SUPPORTED:
        return new NotSupportedError(`${operation} is not supported by this card`);
      case SW.FILE_NOT_FOUND:
      case SW.REFERENCE_NOT_FOUND:
        return new DataObjectNotFoundError(`${operation}: nothing stored there`);
      default:
        return new CardStatusError(sw, operation);
    }
  }

  async getSerial(): Promise<number> {
    const data = await this.#expectSuccess('reading the serial number', { ins: PIV_INS.GET_SERIAL, p1: 0, p2: 0 });
    if (data.length !== 4) throw new InvalidResponseError('the serial number is not 4 bytes');
    return Buffer.from(data).readUInt32BE(0);
  }

  /** The 16-byte GUID of the CHUID (Tessera's card identifier), or undefined when the card has no CHUID. */
  async getCardIdentifier(): Promise<Uint8Array | undefined> {
    const chuid = await this.getObjectIfPresent(PIV_OBJECT.CHUID);
    return chuid === undefined ? undefined : parseChuidGuid(chuid);
  }

  /** Writes a fresh CHUID (a new random GUID unless one is given). Needs the management key. */
  async putChuid(guid?: Uint8Array): Promise<Uint8Array> {
    const chuid = buildChuid(guid ? { guid } : {});
    await this.putObject(PIV_OBJECT.CHUID, chuid);
    return parseChuidGuid(chuid);
  }

  // --- PIN and PUK -------------------------------------------------------------------------

  async getPinMetadata(): Promise<ReferenceDataMetadata> {
    return this.#referenceMetadata(PIV_KEY_REFERENCE.PIN, 'reading PIN metadata');
  }

  async getPukMetadata(): Promise<ReferenceDataMetadata> {
    return this.#referenceMetadata(PIV_KEY_REFERENCE.PUK, 'reading PUK metadata');
  }

  async #referenceMetadata(reference: number, operation: string): Promise<ReferenceDataMetadata> {
    const fields = await this.#metadata(reference, operation);
    const retries = requireTag(fields, METADATA_TAG.RETRIES, operation);
    const isDefault = requireTag(fields, METADATA_TAG.IS_DEFAULT, operation);
    if (retries.length !== 2 || isDefault.length !== 1) throw new InvalidResponseError(`${operation}: malformed answer`);
    return { isDefault: isDefault[0] !== 0, retryLimit: retries[0]!, triesLeft: retries[1]! };
  }

  async #metadata(reference: number, operation: string): Promise<Map<number, Uint8Array>> {
    if (!this.supportsMetadata) throw new NotSupportedError(`${operation} needs a YubiKey with firmware 5.3 or later`);
    const data = await this.#expectSuccess(operation, { ins: PIV_INS.GET_METADATA, p1: 0, p2: reference });
    return decodeTlvMap(data);
  }

  /** PIN tries left, without spending one: GET METADATA where supported, else an empty VERIFY. */
  async getPinTriesLeft(): Promise<number> {
    if (this.supportsMetadata) return (await this.getPinMetadata()).triesLeft;
    const response = await this.#send({ ins: PIV_INS.VERIFY, p1: 0, p2: PIV_KEY_REFERENCE.PIN });
    if (response.sw === SW.AUTH_METHOD_BLOCKED) return 0;
    const tries = triesLeftFromStatusWord(response.sw);
    if (tries !== undefined) return tries;
    if (response.sw === SW.SUCCESS) throw new NotSupportedError('the PIN is verified in this session; this card cannot tell its tries left now');
    throw this.#errorFor(response.sw, 'reading PIN tries');
  }

  /** PUK tries left: PIV has no way to ask for it but YubiKey's GET METADATA. */
  async getPukTriesLeft(): Promise<number> {
    return (await this.getPukMetadata()).triesLeft;
  }

  async verifyPin(pin: Secret): Promise<void> {
    const response = await this.#send({ ins: PIV_INS.VERIFY, p1: 0, p2: PIV_KEY_REFERENCE.PIN, data: pinBlock(pin, 'PIN') });
    this.#checkReferenceAnswer(response.sw, 'PIN', 'verifying the PIN');
  }

  async changePin(currentPin: Secret, newPin: Secret): Promise<void> {
    const data = concatBytes(pinBlock(currentPin, 'PIN'), pinBlock(newPin, 'PIN', PIN_MIN_LENGTH));
    const response = await this.#send({ ins: PIV_INS.CHANGE_REFERENCE_DATA, p1: 0, p2: PIV_KEY_REFERENCE.PIN, data });
    this.#checkReferenceAnswer(response.sw, 'PIN', 'changing the PIN');
  }

  async changePuk(currentPuk: Secret, newPuk: Secret): Promise<void> {
    const data = concatBytes(pinBlock(currentPuk, 'PUK'), pinBlock(newPuk, 'PUK', PIN_MIN_LENGTH));
    const response = await this.#send({ ins: PIV_INS.CHANGE_REFERENCE_DATA, p1: 0, p2: PIV_KEY_REFERENCE.PUK, data });
    this.#checkReferenceAnswer(response.sw, 'PUK', 'changing the PUK');
  }

  /** RESET RETRY COUNTER: sets a new PIN with the PUK, which also restores the PIN's tries. */
  async unblockPin(puk: Secret, newPin: Secret): Promise<void> {
    const data = concatBytes(pinBlock(puk, 'PUK'), pinBlock(newPin, 'PIN', PIN_MIN_LENGTH));
    const response = await this.#send({ ins: PIV_INS.RESET_RETRY_COUNTER, p1: 0, p2: PIV_KEY_REFERENCE.PIN, data });
    this.#checkReferenceAnswer(response.sw, 'PUK', 'unblocking the PIN');
  }

  #checkReferenceAnswer(sw: number, what: 'PIN' | 'PUK', operation: string): void {
    if (sw === SW.SUCCESS) return;
    if (sw === SW.AUTH_METHOD_BLOCKED) throw what === 'PIN' ? new PinBlockedError() : new PukBlockedError();
    const tries = triesLeftFromStatusWord(sw);
    if (tries !== undefined) throw what === 'PIN' ? new InvalidPinError(tries) : new InvalidPukError(tries);
    if (sw === SW.INCORRECT_DATA) throw new PinFormatError(`${operation}: the card refused the new value's format`);
    throw this.#errorFor(sw, operation);
  }

  /** SET PIN RETRIES (YubiKey): needs the management key and the PIN; PIN and PUK return to their defaults. */
  async setPinRetries(pinTries: number, pukTries: number): Promise<void> {
    for (const [name, value] of [['PIN', pinTries], ['PUK', pukTries]] as const) {
      if (!Number.isInteger(value) || value < 1 || value > 15) throw new InvalidArgumentError(`${name} retries must be 1..15, got ${value}`);
    }
    await this.#expectSuccess('setting PIN and PUK retries', { ins: PIV_INS.SET_PIN_RETRIES, p1: pinTries, p2: pukTries });
  }

  // --- Management key ----------------------------------------------------------------------

  async getManagementKeyMetadata(): Promise<ManagementKeyMetadata> {
    const operation = 'reading management key metadata';
    const fields = await this.#metadata(PIV_KEY_REFERENCE.MANAGEMENT_KEY, operation);
    const policy = requireTag(fields, METADATA_TAG.POLICY, operation);
    return {
      algorithm: requireTag(fields, METADATA_TAG.ALGORITHM, operation)[0]!,
      isDefault: requireTag(fields, METADATA_TAG.IS_DEFAULT, operation)[0] !== 0,
      touchRequired: policy[1] === TOUCH_POLICY.ALWAYS || policy[1] === TOUCH_POLICY.CACHED,
    };
  }

  /**
   * Mutual authentication with the management key: the card proves it holds the key too, so a
   * card that merely answers 9000 cannot make us believe we are authenticated.
   */
  async authenticate(algorithm: ManagementKeyAlgorithm, managementKey: Secret): Promise<void> {
    const { blockLength } = managementKeyParameters(algorithm);
    const key = managementKey.expose();
    const operation = 'management key authentication';
    const first = await this.#send({
      ins: PIV_INS.GENERAL_AUTHENTICATE,
      p1: algorithm,
      p2: PIV_KEY_REFERENCE.MANAGEMENT_KEY,
      data: encodeTlv(DYNAMIC_AUTH.TEMPLATE, encodeTlv(DYNAMIC_AUTH.WITNESS)),
    });
    if (first.sw === SW.INCORRECT_DATA || first.sw === SW.INCORRECT_P1P2) {
      throw new AuthenticationFailedError('the card refused the management key algorithm');
    }
    if (first.sw !== SW.SUCCESS) throw this.#errorFor(first.sw, operation);
    const witness = this.#dynamicAuthField(first.data, DYNAMIC_AUTH.WITNESS, blockLength, operation);
    const challenge = new Uint8Array(randomBytes(blockLength));
    const second = await this.#send({
      ins: PIV_INS.GENERAL_AUTHENTICATE,
      p1: algorithm,
      p2: PIV_KEY_REFERENCE.MANAGEMENT_KEY,
      data: encodeTlv(
        DYNAMIC_AUTH.TEMPLATE,
        encodeTlvs({ tag: DYNAMIC_AUTH.WITNESS, value: decryptManagementBlock(algorithm, key, witness) }, { tag: DYNAMIC_AUTH.CHALLENGE, value: challenge }),
      ),
    });
    if (second.sw === SW.SECURITY_STATUS_NOT_SATISFIED) throw new AuthenticationFailedError('wrong management key');
    if (second.sw !== SW.SUCCESS) throw this.#errorFor(second.sw, operation);
    const cardAnswer = this.#dynamicAuthField(second.data, DYNAMIC_AUTH.RESPONSE, blockLength, operation);
    if (!timingSafeEqual(cardAnswer, encryptManagementBlock(algorithm, key, challenge))) {
      throw new AuthenticationFailedError('the card did not prove it holds the management key');
    }
  }

  #dynamicAuthField(data: Uint8Array, tag: number, length: number, operation: string): Uint8Array {
    const template = decodeTlv(data);
    if (template.tag !== DYNAMIC_AUTH.TEMPLATE) throw new InvalidResponseError(`${operation}: no dynamic authentication template`);
    const value = requireTag(decodeTlvMap(template.value), tag, operation);
    if (length >= 0 && value.length !== length) throw new InvalidResponseError(`${operation}: expected ${length} bytes, got ${value.length}`);
    return value;
  }

  /** SET MANAGEMENT KEY (YubiKey); needs a prior `authenticate`. */
  async setManagementKey(algorithm: ManagementKeyAlgorithm, newKey: Secret, options: { requireTouch?: boolean } = {}): Promise<void> {
    const { keyLength } = managementKeyParameters(algorithm);
    const key = newKey.expose();
    if (key.length !== keyLength) throw new InvalidArgumentError(`this management key algorithm takes ${keyLength}-byte keys`);
    await this.#expectSuccess('setting the management key', {
      ins: PIV_INS.SET_MANAGEMENT_KEY,
      p1: 0xff,
      p2: options.requireTouch ? 0xfe : 0xff,
      data: Uint8Array.of(algorithm, PIV_KEY_REFERENCE.MANAGEMENT_KEY, keyLength, ...key),
    });
  }

  // --- Keys --------------------------------------------------------------------------------

  /** Generates a key pair in a slot (needs the management key) and returns its public key. */
  async generateKey(slot: number, algorithm: AsymmetricAlgorithm, policies: KeyPolicies = {}): Promise<KeyObject> {
    if (!isAsymmetricAlgorithm(algorithm)) throw new InvalidArgumentError(`0x${Number(algorithm).toString(16)} is not a key algorithm`);
    const fields: { tag: number; value: Uint8Array }[] = [{ tag: PIV_TAG.ALGORITHM, value: Uint8Array.of(algorithm) }];
    if (policies.pinPolicy !== undefined && policies.pinPolicy !== PIN_POLICY.DEFAULT) fields.push({ tag: PIV_TAG.PIN_POLICY, value: Uint8Array.of(policies.pinPolicy) });
    if (policies.touchPolicy !== undefined && policies.touchPolicy !== TOUCH_POLICY.DEFAULT) fields.push({ tag: PIV_TAG.TOUCH_POLICY, value: Uint8Array.of(policies.touchPolicy) });
    const data = await this.#expectSuccess(`generating a key in slot ${slot.toString(16).toUpperCase()}`, {
      ins: PIV_INS.GENERATE_ASYMMETRIC,
      p1: 0,
      p2: slot,
      data: encodeTlv(PIV_TAG.CONTROL_REFERENCE, encodeTlvs(...fields)),
    });
    const template = decodeTlv(data);
    if (template.tag !== PIV_TAG.PUBLIC_KEY_TEMPLATE) throw new InvalidResponseError('GENERATE answered without a public key template');
    return decodePublicKeyContent(algorithm, template.value);
  }

  async getSlotMetadata(slot: number): Promise<SlotMetadata> {
    const operation = `reading slot ${slot.toString(16).toUpperCase()} metadata`;
    const fields = await this.#metadata(slot, operation);
    const algorithm = requireTag(fields, METADATA_TAG.ALGORITHM, operation)[0]!;
    const policy = requireTag(fields, METADATA_TAG.POLICY, operation);
    return {
      algorithm,
      pinPolicy: policy[0]!,
      touchPolicy: policy[1]!,
      origin: requireTag(fields, METADATA_TAG.ORIGIN, operation)[0]!,
      publicKey: decodePublicKeyContent(algorithm, requireTag(fields, METADATA_TAG.PUBLIC_KEY, operation)),
    };
  }

  /**
   * The slot's private-key operation on `input`: for ECC a digest (the card signs what it is
   * given; the answer is a DER ECDSA signature), for RSA a padded block (raw RSA).
   */
  async sign(slot: number, algorithm: AsymmetricAlgorithm, input: Uint8Array): Promise<Uint8Array> {
    return this.#privateKeyOperation(slot, algorithm, DYNAMIC_AUTH.CHALLENGE, input, 'signing');
  }

  /** RSA decryption of a block (the result still carries its padding). */
  async decrypt(slot: number, algorithm: AsymmetricAlgorithm, block: Uint8Array): Promise<Uint8Array> {
    return this.#privateKeyOperation(slot, algorithm, DYNAMIC_AUTH.CHALLENGE, block, 'decrypting');
  }

  /** ECDH with the slot's key and a peer's uncompressed point; returns the shared x coordinate. */
  async calculateSecret(slot: number, algorithm: AsymmetricAlgorithm, peerPoint: Uint8Array): Promise<Uint8Array> {
    return this.#privateKeyOperation(slot, algorithm, DYNAMIC_AUTH.EXPONENTIATION, peerPoint, 'key agreement');
  }

  async #privateKeyOperation(slot: number, algorithm: number, inputTag: number, input: Uint8Array, what: string): Promise<Uint8Array> {
    const operation = `${what} with slot ${slot.toString(16).toUpperCase()}`;
    const response = await this.#send({
      ins: PIV_INS.GENERAL_AUTHENTICATE,
      p1: algorithm,
      p2: slot,
      data: encodeTlv(DYNAMIC_AUTH.TEMPLATE, encodeTlvs({ tag: DYNAMIC_AUTH.RESPONSE, value: new Uint8Array(0) }, { tag: inputTag, value: input })),
    });
    if (response.sw !== SW.SUCCESS) throw this.#errorFor(response.sw, operation);
    return Uint8Array.from(this.#dynamicAuthField(response.data, DYNAMIC_AUTH.RESPONSE, -1, operation));
  }

  // --- Data objects ------------------------------------------------------------------------

  /** Content of a data object (inside its 53 wrapper); DataObjectNotFoundError when absent. */
  async getObject(tag: number): Promise<Uint8Array> {
    const operation = `reading data object ${tag.toString(16).toUpperCase()}`;
    const data = await this.#expectSuccess(operation, {
      ins: PIV_INS.GET_DATA,
      p1: 0x3f,
      p2: 0xff,
      data: encodeTlv(PIV_TAG.TAG_LIST, objectTagBytes(tag)),
    });
    const wrapper = decodeTlv(data);
    if (wrapper.tag !== PIV_TAG.DATA && wrapper.tag !== tag) throw new InvalidResponseError(`${operation}: unexpected tag ${wrapper.tag.toString(16)}`);
    return Uint8Array.from(wrapper.value);
  }

  async getObjectIfPresent(tag: number): Promise<Uint8Array | undefined> {
    try {
      return await this.getObject(tag);
    } catch (error) {
      if (error instanceof DataObjectNotFoundError) return undefined;
      throw error;
    }
  }

  /** Writes a data object (needs the management key); empty content deletes it. */
  async putObject(tag: number, content: Uint8Array): Promise<void> {
    await this.#expectSuccess(`writing data object ${tag.toString(16).toUpperCase()}`, {
      ins: PIV_INS.PUT_DATA,
      p1: 0x3f,
      p2: 0xff,
      data: concatBytes(encodeTlv(PIV_TAG.TAG_LIST, objectTagBytes(tag)), encodeTlv(PIV_TAG.DATA, content)),
    });
  }

  /** The DER certificate in a slot's certificate object, or undefined when there is none. */
  async getCertificate(slot: number): Promise<Uint8Array | undefined> {
    const content = await this.getObjectIfPresent(this.#certificateObject(slot));
    if (content === undefined) return undefined;
    const fields = decodeTlvMap(content);
    const certificate = requireTag(fields, CERTIFICATE_TAG.CERTIFICATE, 'reading a certificate');
    const info = fields.get(CERTIFICATE_TAG.CERT_INFO);
    // CertInfo 01 marks a gzip-compressed certificate (YubiKey tools write those for large ones).
    if (info?.[0] === 0x01) {
      try {
        return new Uint8Array(gunzipSync(certificate, { maxOutputLength: MAX_CERTIFICATE_LENGTH }));
      } catch (error) {
        throw new InvalidResponseError('the compressed certificate is damaged or too large', { cause: error });
      }
    }
    return Uint8Array.from(certificate);
  }

  async putCertificate(slot: number, certificateDer: Uint8Array): Promise<void> {
    const content = encodeTlvs(
      { tag: CERTIFICATE_TAG.CERTIFICATE, value: certificateDer },
      { tag: CERTIFICATE_TAG.CERT_INFO, value: Uint8Array.of(0) },
      { tag: CERTIFICATE_TAG.LRC, value: new Uint8Array(0) },
    );
    await this.putObject(this.#certificateObject(slot), content);
  }

  #certificateObject(slot: number): number {
    const tag = certificateObjectOfSlot(slot);
    if (tag === undefined) throw new InvalidArgumentError(`slot ${slot.toString(16)} has no certificate object`);
    return tag;
  }

  /** Factory reset (YubiKey): only possible once both PIN and PUK are blocked. */
  async reset(): Promise<void> {
    const response = await this.#send({ ins: PIV_INS.RESET, p1: 0, p2: 0 });
    if (response.sw === SW.CONDITIONS_NOT_SATISFIED) throw new SecurityStatusError('reset (PIN and PUK must both be blocked)');
    if (response.sw !== SW.SUCCESS) throw this.#errorFor(response.sw, 'reset');
  }
}
