// A software PIV card that answers like a YubiKey 5 (firmware 5.4.3). A development and test
// credential: its keys live in a file, so it is not a secure element.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { SW } from '../../card/status-words.ts';
import { decodeTlv, decodeTlvMap, decodeTlvs, encodeTlv, encodeTlvs, concatBytes } from '../../card/tlv.ts';
import { encryptManagementBlock } from '../../card/piv/management-key-cipher.ts';
import { encodePublicKeyContent } from '../../card/piv/piv-public-key.ts';
import {
  DEFAULT_MANAGEMENT_KEY_HEX,
  DYNAMIC_AUTH,
  KEY_ORIGIN,
  MANAGEMENT_KEY_PARAMETERS,
  METADATA_TAG,
  PIN_BLOCK_LENGTH,
  PIN_PAD,
  PIN_POLICY,
  PIV_AID,
  PIV_ALGORITHM,
  PIV_INS,
  PIV_KEY_REFERENCE,
  PIV_OBJECT,
  PIV_SLOT,
  PIV_TAG,
  RETIRED_SLOTS,
  TOUCH_POLICY,
  isAsymmetricAlgorithm,
  isManagementKeyAlgorithm,
} from '../../card/piv/piv-constants.ts';
import { ApduFraming, StatusWordAnswer, answer, type CardAnswer, type CardCommand } from '../apdu-framing.ts';
import type { CardStateStore } from '../card-state-store.ts';
import { MEMORY_FAILURE_ANSWER, StoredCardState, randomSerial } from '../stored-card-state.ts';
import type { VirtualCard } from '../virtual-card.ts';
import {
  ecdh,
  ecdsaSign,
  generateStoredKey,
  importEcKey,
  importRsaKey,
  isEcAlgorithm,
  isValidEcPoint,
  isValidEcScalar,
  keySizeInBytes,
  publicKeyOf,
  rsaPrivate,
} from './piv-key-material.ts';
import {
  factoryPin,
  factoryPivCardState,
  factoryPuk,
  pivCardStateCodec,
  referenceDigest,
  type PivCardState,
  type PivReferenceData,
} from './piv-card-state.ts';

/** ATR of a YubiKey 5 NFC over USB ("YubiKey" in the historical bytes): tools take their YubiKey path. */
export const YUBIKEY_5_ATR = Uint8Array.from(Buffer.from('3BFD1300008131FE158073C021C057597562694B657940', 'hex'));

/** SELECT answer: application template with the PIX and the coexistent tag allocation authority. */
const APPLICATION_PROPERTY_TEMPLATE = encodeTlv(
  PIV_TAG.APPLICATION_TEMPLATE,
  concatBytes(
    encodeTlv(PIV_TAG.APPLICATION_AID, PIV_AID.subarray(5)),
    encodeTlv(PIV_TAG.COEXISTENT_TAG_ALLOCATION, encodeTlv(PIV_TAG.APPLICATION_AID, PIV_AID.subarray(0, 5))),
  ),
);

/** Discovery object: the PIV AID and a PIN usage policy of "PIV Card Application PIN only". */
const DISCOVERY_OBJECT = encodeTlv(
  PIV_TAG.DISCOVERY,
  concatBytes(encodeTlv(PIV_TAG.APPLICATION_AID, PIV_AID), encodeTlv(0x5f2f, Uint8Array.of(0x40, 0x00))),
);

/** Objects whose reading needs the PIN (SP 800-73-4 part 1, table 3). */
const PIN_PROTECTED_OBJECTS: ReadonlySet<number> = new Set([PIV_OBJECT.FINGERPRINTS, PIV_OBJECT.FACIAL, PIV_OBJECT.PRINTED, PIV_OBJECT.IRIS]);

/** Largest data object a YubiKey 5 stores. */
const MAX_OBJECT_LENGTH = 3063;
const KEY_SLOTS: ReadonlySet<number> = new Set([PIV_SLOT.AUTHENTICATION, PIV_SLOT.SIGNATURE, PIV_SLOT.KEY_MANAGEMENT, PIV_SLOT.CARD_AUTHENTICATION, ...RETIRED_SLOTS]);
const MIN_PIN_LENGTH = 6;

const DEFAULT_PIN_POLICY: ReadonlyMap<number, number> = new Map([
  [PIV_SLOT.AUTHENTICATION, PIN_POLICY.ONCE],
  [PIV_SLOT.SIGNATURE, PIN_POLICY.ALWAYS],
  [PIV_SLOT.KEY_MANAGEMENT, PIN_POLICY.ONCE],
  [PIV_SLOT.CARD_AUTHENTICATION, PIN_POLICY.NEVER],
]);

/** What the card remembers only while powered. */
interface SecurityStatus {
  pinVerified: boolean;
  /** Set by a successful VERIFY, spent by the next operation of a PIN-always key. */
  pinJustVerified: boolean;
  managementKeyAuthenticated: boolean;
  /** The management-key authentication under way: a witness we encrypted, or a challenge we sent. */
  pendingAuthentication: { kind: 'witness' | 'challenge'; value: Uint8Array } | undefined;
}

const freshSecurityStatus = (): SecurityStatus => ({
  pinVerified: false,
  pinJustVerified: false,
  managementKeyAuthenticated: false,
  pendingAuthentication: undefined,
});

const fail = (sw: number): never => {
  throw new StatusWordAnswer(sw);
};

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');
const unhex = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, 'hex'));

export interface CreatePivCardOptions {
  /** YubiKey serial number; random 8 digits when absent. */
  serial?: number;
}

export class VirtualPivCard implements VirtualCard {
  readonly atr = YUBIKEY_5_ATR;
  readonly #stored: StoredCardState<PivCardState>;
  #security = freshSecurityStatus();
  readonly #framing = new ApduFraming({ maxCommandData: 4096 });

  private constructor(stored: StoredCardState<PivCardState>) {
    this.#stored = stored;
  }

  get #state(): PivCardState {
    return this.#stored.state;
  }

  set #state(state: PivCardState) {
    this.#stored.state = state;
  }

  /** Makes a factory-fresh card and stores it. */
  static create(store: CardStateStore, options: CreatePivCardOptions = {}): VirtualPivCard {
    return new VirtualPivCard(StoredCardState.create(store, pivCardStateCodec, factoryPivCardState(options.serial ?? randomSerial())));
  }

  /** Loads a card from its store; a missing or damaged state is a StateFileError. */
  static open(store: CardStateStore, where = 'virtual card state'): VirtualPivCard {
    return new VirtualPivCard(StoredCardState.open(store, pivCardStateCodec, where));
  }

  static isPivState(text: string): boolean {
    return pivCardStateCodec.recognises(text);
  }

  get serial(): number {
    return this.#state.serial;
  }

  powerOn(): void {
    this.#security = freshSecurityStatus();
    this.#framing.clear();
  }

  powerOff(): void {
    this.powerOn();
  }

  reset(): void {
    this.powerOn();
  }

  process(command: Uint8Array): Uint8Array {
    if (this.#stored.failed) return MEMORY_FAILURE_ANSWER;
    return this.#framing.process(command, (c) => this.#dispatch(c));
  }

  #dispatch(command: CardCommand): CardAnswer {
    // Authentication in progress is abandoned by any other command.
    if (!(command.ins === PIV_INS.GENERAL_AUTHENTICATE && command.p2 === PIV_KEY_REFERENCE.MANAGEMENT_KEY)) {
      this.#security.pendingAuthentication = undefined;
    }
    switch (command.ins) {
      case PIV_INS.SELECT:
        return this.#select(command);
      case PIV_INS.GET_DATA:
        return this.#getData(command);
      case PIV_INS.PUT_DATA:
        return this.#putData(command);
      case PIV_INS.VERIFY:
        return this.#verify(command);
      case PIV_INS.CHANGE_REFERENCE_DATA:
        return this.#changeReferenceData(command);
      case PIV_INS.RESET_RETRY_COUNTER:
        return this.#resetRetryCounter(command);
      case PIV_INS.GENERAL_AUTHENTICATE:
        return this.#generalAuthenticate(command);
      case PIV_INS.GENERATE_ASYMMETRIC:
        return this.#generate(command);
      case PIV_INS.GET_METADATA:
        return this.#getMetadata(command);
      case PIV_INS.GET_SERIAL:
        this.#requireP1P2(command, 0, 0);
        return answer(SW.SUCCESS, Uint8Array.of(...u32(this.#state.serial)));
      case PIV_INS.GET_VERSION:
        this.#requireP1P2(command, 0, 0);
        return answer(SW.SUCCESS, Uint8Array.from(this.#state.firmware));
      case PIV_INS.SET_PIN_RETRIES:
        return this.#setPinRetries(command);
      case PIV_INS.RESET:
        return this.#reset(command);
      case PIV_INS.IMPORT_KEY:
        return this.#importKey(command);
      case PIV_INS.SET_MANAGEMENT_KEY:
        return this.#setManagementKey(command);
      default:
        return answer(SW.INS_NOT_SUPPORTED);
    }
  }

  #requireP1P2(command: CardCommand, p1: number, p2: number): void {
    if (command.p1 !== p1 || command.p2 !== p2) fail(SW.INCORRECT_P1P2);
  }

  /** Writes the state; on failure the card keeps its last stored state and answers a memory failure. */
  #commit(): void {
    this.#stored.commit();
  }

  #select(command: CardCommand): CardAnswer {
    if (command.p1 !== 0x04 || (command.p2 !== 0x00 && command.p2 !== 0x0c)) return answer(SW.INCORRECT_P1P2);
    const aid = command.data;
    // The full AID, or any truncation of it down to the RID, selects PIV; anything else is absent.
    const matches = aid.length >= 5 && aid.length <= PIV_AID.length && aid.every((b, i) => b === PIV_AID[i]);
    if (!matches) return answer(SW.FILE_NOT_FOUND);
    this.#framing.clear();
    return answer(SW.SUCCESS, command.p2 === 0x0c ? undefined : APPLICATION_PROPERTY_TEMPLATE);
  }

  #objectTag(command: CardCommand): number {
    this.#requireP1P2(command, 0x3f, 0xff);
    const list = decodeTlv(command.data);
    if (list.tag !== PIV_TAG.TAG_LIST || list.value.length < 1 || list.value.length > 3) fail(SW.INCORRECT_DATA);
    return list.value.reduce((tag, b) => (tag << 8) | b, 0);
  }

  #getData(command: CardCommand): CardAnswer {
    const tag = this.#objectTag(command);
    if (tag === PIV_OBJECT.DISCOVERY) return answer(SW.SUCCESS, DISCOVERY_OBJECT);
    // The PIN comes first, so that an unauthenticated caller cannot tell which protected objects exist.
    if (PIN_PROTECTED_OBJECTS.has(tag) && !this.#security.pinVerified) return answer(SW.SECURITY_STATUS_NOT_SATISFIED);
    const stored = this.#state.objects[tag.toString(16)];
    if (stored === undefined) return answer(SW.FILE_NOT_FOUND);
    return answer(SW.SUCCESS, encodeTlv(PIV_TAG.DATA, unhex(stored)));
  }

  #putData(command: CardCommand): CardAnswer {
    this.#requireP1P2(command, 0x3f, 0xff);
    const tlvs = decodeTlvs(command.data);
    const [list, data] = tlvs;
    if (tlvs.length !== 2 || list?.tag !== PIV_TAG.TAG_LIST || data?.tag !== PIV_TAG.DATA || list.value.length !== 3) {
      return answer(SW.INCORRECT_DATA);
    }
    const tag = list.value.reduce((t, b) => (t << 8) | b, 0);
    const writable = (tag >= 0x5fc101 && tag <= 0x5fc123) || (tag >= 0x5fff00 && tag <= 0x5fff15);
    if (!writable) return answer(SW.INCORRECT_DATA);
    if (data.value.length > MAX_OBJECT_LENGTH) return answer(SW.NOT_ENOUGH_MEMORY);
    if (!this.#security.managementKeyAuthenticated) return answer(SW.SECURITY_STATUS_NOT_SATISFIED);
    if (data.value.length === 0) delete this.#state.objects[tag.toString(16)];
    else this.#state.objects[tag.toString(16)] = hex(data.value);
    this.#commit();
    return answer(SW.SUCCESS);
  }

  #verify(command: CardCommand): CardAnswer {
    if (command.p2 !== PIV_KEY_REFERENCE.PIN || (command.p1 !== 0x00 && command.p1 !== 0xff)) return answer(SW.INCORRECT_P1P2);
    if (command.p1 === 0xff) {
      // P1 FF resets the PIN's security status (SP 800-73-4 part 2, 3.2.1).
      if (command.data.length !== 0) return answer(SW.INCORRECT_DATA);
      this.#security.pinVerified = false;
      this.#security.pinJustVerified = false;
      return answer(SW.SUCCESS);
    }
    const pin = this.#state.pin;
    if (command.data.length === 0) {
      if (pin.triesLeft === 0) return answer(SW.AUTH_METHOD_BLOCKED);
      return answer(this.#security.pinVerified ? SW.SUCCESS : SW.VERIFY_FAILED | pin.triesLeft);
    }
    if (command.data.length !== PIN_BLOCK_LENGTH) return answer(SW.INCORRECT_DATA);
    const result = this.#checkReferenceData(pin, command.data);
    this.#security.pinVerified = result === SW.SUCCESS;
    this.#security.pinJustVerified = result === SW.SUCCESS;
    return answer(result);
  }

  /**
   * Compares a presented block. The try is counted and stored before the comparison, as a card
   * writes its counter first: neither a crash nor a failing store can refund it.
   */
  #checkReferenceData(reference: PivReferenceData, block: Uint8Array): number {
    if (reference.triesLeft === 0) return SW.AUTH_METHOD_BLOCKED;
    if (reference === this.#state.pin) {
      // A PIN presented wrongly (or by CHANGE REFERENCE DATA) no longer counts as verified.
      this.#security.pinVerified = false;
      this.#security.pinJustVerified = false;
    }
    reference.triesLeft -= 1;
    this.#commit();
    const presented = Buffer.from(referenceDigest(this.#state.salt, block), 'hex');
    if (!timingSafeEqual(presented, Buffer.from(reference.digest, 'hex'))) return SW.VERIFY_FAILED | reference.triesLeft;
    reference.triesLeft = reference.limit;
    this.#commit();
    return SW.SUCCESS;
  }

  #changeReferenceData(command: CardCommand): CardAnswer {
    const isPin = command.p2 === PIV_KEY_REFERENCE.PIN;
    if (command.p1 !== 0x00 || (!isPin && command.p2 !== PIV_KEY_REFERENCE.PUK)) return answer(SW.INCORRECT_P1P2);
    if (command.data.length !== 2 * PIN_BLOCK_LENGTH) return answer(SW.INCORRECT_DATA);
    const next = command.data.subarray(PIN_BLOCK_LENGTH);
    if (!isWellFormedPinBlock(next)) return answer(SW.INCORRECT_DATA);
    const reference = isPin ? this.#state.pin : this.#state.puk;
    const result = this.#checkReferenceData(reference, command.data.subarray(0, PIN_BLOCK_LENGTH));
    if (result !== SW.SUCCESS) return answer(result);
    this.#setReferenceValue(reference, next, isPin ? factoryPin : factoryPuk);
    this.#commit();
    return answer(SW.SUCCESS);
  }

  #setReferenceValue(reference: PivReferenceData, block: Uint8Array, factory: (salt: string) => PivReferenceData): void {
    reference.digest = referenceDigest(this.#state.salt, block);
    reference.triesLeft = reference.limit;
    reference.isDefault = reference.digest === factory(this.#state.salt).digest;
  }

  #resetRetryCounter(command: CardCommand): CardAnswer {
    if (command.p1 !== 0x00 || command.p2 !== PIV_KEY_REFERENCE.PIN) return answer(SW.INCORRECT_P1P2);
    if (command.data.length !== 2 * PIN_BLOCK_LENGTH) return answer(SW.INCORRECT_DATA);
    const newPin = command.data.subarray(PIN_BLOCK_LENGTH);
    if (!isWellFormedPinBlock(newPin)) return answer(SW.INCORRECT_DATA);
    const result = this.#checkReferenceData(this.#state.puk, command.data.subarray(0, PIN_BLOCK_LENGTH));
    if (result !== SW.SUCCESS) return answer(result);
    this.#setReferenceValue(this.#state.pin, newPin, factoryPin);
    this.#commit();
    return answer(SW.SUCCESS);
  }

  #generalAuthenticate(command: CardCommand): CardAnswer {
    const template = decodeTlv(command.data);
    if (template.tag !== DYNAMIC_AUTH.TEMPLATE) return answer(SW.INCORRECT_DATA);
    const fields = decodeTlvs(template.value);
    if (command.p2 === PIV_KEY_REFERENCE.MANAGEMENT_KEY) return this.#authenticateManagementKey(command.p1, fields);
    if (!KEY_SLOTS.has(command.p2)) return answer(SW.INCORRECT_P1P2);
    return this.#privateKeyOperation(command.p1, command.p2, fields);
  }

  #authenticateManagementKey(algorithm: number, fields: { tag: number; value: Uint8Array }[]): CardAnswer {
    const pending = this.#security.pendingAuthentication;
    this.#security.pendingAuthentication = undefined;
    const { managementKey } = this.#state;
    if (algorithm !== managementKey.algorithm) return answer(SW.INCORRECT_DATA);
    const key = unhex(managementKey.key);
    const { blockLength } = MANAGEMENT_KEY_PARAMETERS.get(algorithm)!;
    const tags = fields.map((f) => f.tag);
    const field = (tag: number): Uint8Array => fields.find((f) => f.tag === tag)!.value;
    const wrap = (tag: number, value: Uint8Array): CardAnswer => answer(SW.SUCCESS, encodeTlv(DYNAMIC_AUTH.TEMPLATE, encodeTlv(tag, value)));

    // Step 1 of mutual authentication: the card sends a witness, encrypted.
    if (same(tags, [DYNAMIC_AUTH.WITNESS]) && field(DYNAMIC_AUTH.WITNESS).length === 0) {
      const witness = new Uint8Array(randomBytes(blockLength));
      this.#security.managementKeyAuthenticated = false;
      this.#security.pendingAuthentication = { kind: 'witness', value: witness };
      return wrap(DYNAMIC_AUTH.WITNESS, encryptManagementBlock(algorithm, key, witness));
    }
    // Step 2: the host returns the witness decrypted, and its own challenge for the card.
    if (same(tags, [DYNAMIC_AUTH.WITNESS, DYNAMIC_AUTH.CHALLENGE])) {
      const witness = field(DYNAMIC_AUTH.WITNESS);
      const challenge = field(DYNAMIC_AUTH.CHALLENGE);
      if (witness.length !== blockLength || challenge.length !== blockLength) return answer(SW.INCORRECT_DATA);
      if (pending?.kind !== 'witness') return answer(SW.CONDITIONS_NOT_SATISFIED);
      if (!timingSafeEqual(witness, pending.value)) return answer(SW.SECURITY_STATUS_NOT_SATISFIED);
      this.#security.managementKeyAuthenticated = true;
      return wrap(DYNAMIC_AUTH.RESPONSE, encryptManagementBlock(algorithm, key, challenge));
    }
    // External authentication: the card sends a challenge in clear ...
    if (same(tags, [DYNAMIC_AUTH.CHALLENGE]) && field(DYNAMIC_AUTH.CHALLENGE).length === 0) {
      const challenge = new Uint8Array(randomBytes(blockLength));
      this.#security.managementKeyAuthenticated = false;
      this.#security.pendingAuthentication = { kind: 'challenge', value: challenge };
      return wrap(DYNAMIC_AUTH.CHALLENGE, challenge);
    }
    // ... and the host answers it encrypted.
    if (same(tags, [DYNAMIC_AUTH.RESPONSE])) {
      const response = field(DYNAMIC_AUTH.RESPONSE);
      if (response.length !== blockLength) return answer(SW.INCORRECT_DATA);
      if (pending?.kind !== 'challenge') return answer(SW.CONDITIONS_NOT_SATISFIED);
      const expected = encryptManagementBlock(algorithm, key, pending.value);
      if (!timingSafeEqual(response, expected)) return answer(SW.SECURITY_STATUS_NOT_SATISFIED);
      this.#security.managementKeyAuthenticated = true;
      return answer(SW.SUCCESS);
    }
    return answer(SW.INCORRECT_DATA);
  }

  #privateKeyOperation(algorithm: number, slot: number, fields: { tag: number; value: Uint8Array }[]): CardAnswer {
    const stored = this.#state.keys[slot.toString(16)];
    if (!stored) return answer(SW.REFERENCE_NOT_FOUND);
    if (stored.algorithm !== algorithm) return answer(SW.INCORRECT_P1P2);
    const tags = fields.map((f) => f.tag);
    const response = fields.find((f) => f.tag === DYNAMIC_AUTH.RESPONSE);
    const input = fields.find((f) => f.tag === DYNAMIC_AUTH.CHALLENGE || f.tag === DYNAMIC_AUTH.EXPONENTIATION);
    if (tags.length !== 2 || !response || response.value.length !== 0 || !input) return answer(SW.INCORRECT_DATA);
    const size = keySizeInBytes(algorithm);
    const ec = isEcAlgorithm(algorithm);
    if (input.tag === DYNAMIC_AUTH.EXPONENTIATION) {
      if (!ec || !isValidEcPoint(algorithm, input.value)) return answer(SW.INCORRECT_DATA);
    } else if (ec ? input.value.length === 0 || input.value.length > 2 * size : input.value.length !== size) {
      return answer(SW.INCORRECT_DATA);
    }
    const policy = stored.pinPolicy;
    if (policy === PIN_POLICY.ONCE && !this.#security.pinVerified) return answer(SW.SECURITY_STATUS_NOT_SATISFIED);
    if (policy === PIN_POLICY.ALWAYS && !this.#security.pinJustVerified) return answer(SW.SECURITY_STATUS_NOT_SATISFIED);

    let output: Uint8Array;
    if (input.tag === DYNAMIC_AUTH.EXPONENTIATION) {
      output = ecdh(stored, input.value);
    } else if (ec) {
      // ECDSA uses the leftmost bits of a longer digest (FIPS 186-4, 6.4).
      output = ecdsaSign(stored, input.value.length > size ? input.value.subarray(0, size) : input.value);
    } else {
      try {
        output = rsaPrivate(stored, input.value);
      } catch {
        return answer(SW.INCORRECT_DATA);
      }
    }
    // A PIN-always key spends the verification; a refused operation above did not.
    this.#security.pinJustVerified = false;
    return answer(SW.SUCCESS, encodeTlv(DYNAMIC_AUTH.TEMPLATE, encodeTlv(DYNAMIC_AUTH.RESPONSE, output)));
  }

  #slotPolicies(slot: number, fields: Map<number, Uint8Array>): { pinPolicy: number; touchPolicy: number } {
    const pinField = fields.get(PIV_TAG.PIN_POLICY);
    const touchField = fields.get(PIV_TAG.TOUCH_POLICY);
    if ((pinField && pinField.length !== 1) || (touchField && touchField.length !== 1)) fail(SW.INCORRECT_DATA);
    let pinPolicy = pinField?.[0] ?? PIN_POLICY.DEFAULT;
    let touchPolicy = touchField?.[0] ?? TOUCH_POLICY.DEFAULT;
    if (pinPolicy > PIN_POLICY.ALWAYS || touchPolicy > TOUCH_POLICY.CACHED) fail(SW.INCORRECT_DATA);
    if (pinPolicy === PIN_POLICY.DEFAULT) pinPolicy = DEFAULT_PIN_POLICY.get(slot) ?? PIN_POLICY.ONCE;
    if (touchPolicy === TOUCH_POLICY.DEFAULT) touchPolicy = TOUCH_POLICY.NEVER;
    return { pinPolicy, touchPolicy };
  }

  #generate(command: CardCommand): CardAnswer {
    if (command.p1 !== 0x00 || !KEY_SLOTS.has(command.p2)) return answer(SW.INCORRECT_P1P2);
    const template = decodeTlv(command.data);
    if (template.tag !== PIV_TAG.CONTROL_REFERENCE) return answer(SW.INCORRECT_DATA);
    const fields = decodeTlvMap(template.value);
    const algorithm = fields.get(PIV_TAG.ALGORITHM);
    if (!algorithm || algorithm.length !== 1 || !isAsymmetricAlgorithm(algorithm[0]!)) return answer(SW.INCORRECT_DATA);
    for (const tag of fields.keys()) {
      if (tag !== PIV_TAG.ALGORITHM && tag !== PIV_TAG.PIN_POLICY && tag !== PIV_TAG.TOUCH_POLICY) return answer(SW.INCORRECT_DATA);
    }
    const policies = this.#slotPolicies(command.p2, fields);
    if (!this.#security.managementKeyAuthenticated) return answer(SW.SECURITY_STATUS_NOT_SATISFIED);
    const key = generateStoredKey(algorithm[0]!);
    this.#state.keys[command.p2.toString(16)] = { ...key, ...policies, origin: KEY_ORIGIN.GENERATED };
    this.#commit();
    return answer(SW.SUCCESS, encodeTlv(PIV_TAG.PUBLIC_KEY_TEMPLATE, encodePublicKeyContent(publicKeyOf(key))));
  }

  #importKey(command: CardCommand): CardAnswer {
    const algorithm = command.p1;
    if (!isAsymmetricAlgorithm(algorithm) || !KEY_SLOTS.has(command.p2)) return answer(SW.INCORRECT_P1P2);
    const fields = decodeTlvMap(command.data);
    const policies = this.#slotPolicies(command.p2, fields);
    let key;
    if (isEcAlgorithm(algorithm)) {
      const scalar = fields.get(0x06);
      if (!scalar || !isValidEcScalar(algorithm, scalar)) return answer(SW.INCORRECT_DATA);
      key = importEcKey(algorithm, scalar);
    } else {
      const [p, q, dp, dq, qinv] = [0x01, 0x02, 0x03, 0x04, 0x05].map((t) => fields.get(t));
      if (!p || !q || !dp || !dq || !qinv) return answer(SW.INCORRECT_DATA);
      key = importRsaKey(algorithm, { p, q, dp, dq, qinv });
      if (!key) return answer(SW.INCORRECT_DATA);
    }
    if (!this.#security.managementKeyAuthenticated) return answer(SW.SECURITY_STATUS_NOT_SATISFIED);
    this.#state.keys[command.p2.toString(16)] = { ...key, ...policies, origin: KEY_ORIGIN.IMPORTED };
    this.#commit();
    return answer(SW.SUCCESS);
  }

  #getMetadata(command: CardCommand): CardAnswer {
    if (command.p1 !== 0x00 || command.data.length !== 0) return answer(command.p1 !== 0 ? SW.INCORRECT_P1P2 : SW.INCORRECT_DATA);
    const slot = command.p2;
    const byte = (tag: number, ...values: number[]) => ({ tag, value: Uint8Array.from(values) });
    if (slot === PIV_KEY_REFERENCE.PIN || slot === PIV_KEY_REFERENCE.PUK) {
      const reference = slot === PIV_KEY_REFERENCE.PIN ? this.#state.pin : this.#state.puk;
      return answer(
        SW.SUCCESS,
        encodeTlvs(byte(METADATA_TAG.ALGORITHM, 0xff), byte(METADATA_TAG.IS_DEFAULT, reference.isDefault ? 1 : 0), byte(METADATA_TAG.RETRIES, reference.limit, reference.triesLeft)),
      );
    }
    if (slot === PIV_KEY_REFERENCE.MANAGEMENT_KEY) {
      const { algorithm, touchRequired, isDefault } = this.#state.managementKey;
      return answer(
        SW.SUCCESS,
        encodeTlvs(
          byte(METADATA_TAG.ALGORITHM, algorithm),
          byte(METADATA_TAG.POLICY, PIN_POLICY.NEVER, touchRequired ? TOUCH_POLICY.ALWAYS : TOUCH_POLICY.NEVER),
          byte(METADATA_TAG.IS_DEFAULT, isDefault ? 1 : 0),
        ),
      );
    }
    if (!KEY_SLOTS.has(slot)) return answer(SW.INCORRECT_P1P2);
    const stored = this.#state.keys[slot.toString(16)];
    if (!stored) return answer(SW.REFERENCE_NOT_FOUND);
    return answer(
      SW.SUCCESS,
      encodeTlvs(
        byte(METADATA_TAG.ALGORITHM, stored.algorithm),
        byte(METADATA_TAG.POLICY, stored.pinPolicy, stored.touchPolicy),
        byte(METADATA_TAG.ORIGIN, stored.origin),
        { tag: METADATA_TAG.PUBLIC_KEY, value: encodePublicKeyContent(publicKeyOf(stored)) },
      ),
    );
  }

  #setPinRetries(command: CardCommand): CardAnswer {
    const [pinTries, pukTries] = [command.p1, command.p2];
    if (pinTries < 1 || pinTries > 15 || pukTries < 1 || pukTries > 15) return answer(SW.INCORRECT_P1P2);
    if (command.data.length !== 0) return answer(SW.INCORRECT_DATA);
    if (!this.#security.managementKeyAuthenticated || !this.#security.pinVerified) return answer(SW.SECURITY_STATUS_NOT_SATISFIED);
    // As on a YubiKey, new limits put PIN and PUK back to their factory values.
    this.#state.pin = factoryPin(this.#state.salt, pinTries);
    this.#state.puk = factoryPuk(this.#state.salt, pukTries);
    this.#commit();
    this.#security.pinVerified = false;
    this.#security.pinJustVerified = false;
    return answer(SW.SUCCESS);
  }

  #reset(command: CardCommand): CardAnswer {
    this.#requireP1P2(command, 0, 0);
    if (command.data.length !== 0) return answer(SW.INCORRECT_DATA);
    // Only a card whose PIN and PUK are both blocked may be reset: it cannot be taken over otherwise.
    if (this.#state.pin.triesLeft !== 0 || this.#state.puk.triesLeft !== 0) return answer(SW.CONDITIONS_NOT_SATISFIED);
    this.#state = factoryPivCardState(this.#state.serial);
    this.#commit();
    this.#security = freshSecurityStatus();
    return answer(SW.SUCCESS);
  }

  #setManagementKey(command: CardCommand): CardAnswer {
    if (command.p1 !== 0xff || (command.p2 !== 0xff && command.p2 !== 0xfe)) return answer(SW.INCORRECT_P1P2);
    const data = command.data;
    if (data.length < 3) return answer(SW.INCORRECT_DATA);
    const [algorithm, reference, length] = [data[0]!, data[1]!, data[2]!];
    if (!isManagementKeyAlgorithm(algorithm) || reference !== PIV_KEY_REFERENCE.MANAGEMENT_KEY) return answer(SW.INCORRECT_DATA);
    const { keyLength } = MANAGEMENT_KEY_PARAMETERS.get(algorithm)!;
    if (length !== keyLength || data.length !== 3 + keyLength) return answer(SW.INCORRECT_DATA);
    if (!this.#security.managementKeyAuthenticated) return answer(SW.SECURITY_STATUS_NOT_SATISFIED);
    const key = hex(data.subarray(3));
    this.#state.managementKey = {
      algorithm,
      key,
      touchRequired: command.p2 === 0xfe,
      isDefault: algorithm === PIV_ALGORITHM.TDES && key === DEFAULT_MANAGEMENT_KEY_HEX,
    };
    this.#commit();
    return answer(SW.SUCCESS);
  }
}

/** A PIN or PUK block: 6 to 8 value bytes without FF, then FF padding. */
function isWellFormedPinBlock(block: Uint8Array): boolean {
  const end = block.indexOf(PIN_PAD);
  const length = end === -1 ? block.length : end;
  if (length < MIN_PIN_LENGTH) return false;
  return block.subarray(length).every((b) => b === PIN_PAD);
}

function same(a: number[], b: number[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function u32(value: number): number[] {
  return [(value >>> 24) & 0xff, (value >>> 16) & 0xff, (value >>> 8) & 0xff, value & 0xff];
}
