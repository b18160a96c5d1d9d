// A software GIDS card that answers as vletoux/GidsApplet does and as OpenSC's gids driver and
// gids-tool expect. A development and test credential: its admin key lives in a file.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { adminKeyDecrypt, adminKeyEncrypt } from '../../card/gids/gids-admin-crypto.ts';
import {
  EXTERNAL_CHALLENGE_LENGTH,
  GIDS_ADMIN_KEY_LENGTH,
  GIDS_ADMIN_KEY_REFERENCE,
  GIDS_APPLICATION_FILE,
  GIDS_CHANGE_PIN_P1,
  GIDS_DO,
  GIDS_DYNAMIC_AUTH,
  GIDS_FILE_DESCRIPTOR,
  GIDS_INS,
  GIDS_PIN_MAX_LENGTH,
  GIDS_PIN_MIN_LENGTH,
  GIDS_PIN_REFERENCE,
  GIDS_RESET_RETRY_COUNTER_P1,
  GIDS_V2_FULL_AID,
  GIDS_VERIFY_DEAUTHENTICATE_P2,
  MUTUAL_CRYPTOGRAM_LENGTH,
  MUTUAL_RANDOM_LENGTH,
} from '../../card/gids/gids-constants.ts';
import { SW } from '../../card/status-words.ts';
import { concatBytes, decodeTlv, decodeTlvs, encodeTlv, encodeTlvs, type Tlv } from '../../card/tlv.ts';
import { ApduFraming, StatusWordAnswer, answer, type CardAnswer, type CardCommand } from '../apdu-framing.ts';
import type { CardStateStore } from '../card-state-store.ts';
import { MEMORY_FAILURE_ANSWER, StoredCardState, randomSerial } from '../stored-card-state.ts';
import type { VirtualCard } from '../virtual-card.ts';
import {
  blankGidsCardState,
  gidsCardStateCodec,
  pinDigest,
  type GidsCardState,
  type GidsDataObjectFile,
  type GidsKeyFile,
  type GidsStoredFile,
} from './gids-card-state.ts';

/**
 * Builds a T=1 ATR with the given historical bytes: TS 3B, T0 8K, TD1 80 (T=0, TD2 follows),
 * TD2 01 (T=1), historical bytes, TCK. OpenSC finds GIDS by SELECT, not by ATR, so the ATR
 * only has to match no other driver's table: its historical bytes spell "Tessera GIDS".
 */
function t1Atr(historical: Uint8Array): Uint8Array {
  const body = [0x80 | historical.length, 0x80, 0x01, ...historical];
  const tck = body.reduce((x, b) => x ^ b, 0);
  return Uint8Array.from([0x3b, ...body, tck]);
}

export const VIRTUAL_GIDS_ATR = t1Atr(new TextEncoder().encode('Tessera GIDS'));

/** SELECT answers of the application: FCI (AID with version, cryptographic mechanisms), FCP and FMD. */
const APPLICATION_FCI = encodeTlv(0x61, encodeTlvs({ tag: 0x4f, value: GIDS_V2_FULL_AID }, { tag: 0x73, value: encodeTlv(0x40, Uint8Array.of(0xc0)) }));
/** The EF holding the admin key (key reference 80): the only key that grants admin rights. */
const ADMIN_KEY_FILE = 0xb000 | GIDS_ADMIN_KEY_REFERENCE;

/** The application DF: creating and deleting EFs needs the PIN or the admin key once operational. */
const APPLICATION_FCP = encodeTlv(0x62, encodeTlvs({ tag: 0x82, value: Uint8Array.of(0x38) }, { tag: 0x8c, value: Uint8Array.of(0x03, 0x30, 0x30) }));
const APPLICATION_FMD = encodeTlv(0x64, encodeTlvs({ tag: 0x5f2f, value: Uint8Array.of(0x60) }, { tag: 0x7f65, value: encodeTlv(0x80) }));

/** Operations named by the access-mode bits of a compact security attribute (GidsApplet's numbering). */
const OP = {
  DO_GET_DATA: 0x01,
  DO_PUT_DATA: 0x02,
  KEY_PUT_KEY: 0x02,
  KEY_MANAGE_SECURITY_ENVIRONMENT: 0x04,
  KEY_GET_PUBLIC_KEY: 0x01,
  DF_CREATE_EF: 0x02,
  DF_DELETE_CHILD: 0x01,
  ACTIVATE: 0x10,
  EF_DELETE: 0x40,
} as const;

const MAX_FILES = 16;
const MAX_OBJECTS_PER_FILE = 30;
const MAX_COMMAND_DATA = 4096;
const MAX_FCP_LENGTH = 127;
const MUTUAL_PADDING = 0x80;

type AdminAuthentication =
  | { state: 'none' }
  | { state: 'external-challenge'; keyFile: number; challenge: Uint8Array }
  | { state: 'mutual-challenge'; keyFile: number; hostRandom: Uint8Array; cardRandom: Uint8Array }
  | { state: 'authenticated'; keyFile: number };

/** What the card remembers only while powered and selected. */
interface SecurityStatus {
  pinVerified: boolean;
  admin: AdminAuthentication;
  /** Key file chosen by MANAGE SECURITY ENVIRONMENT for GENERAL AUTHENTICATE. */
  keyFile: number | undefined;
  /** Currently selected EF, the target of ACTIVATE, DELETE FILE and P1P2 0000. */
  currentEf: number | undefined;
}

const freshSecurityStatus = (): SecurityStatus => ({ pinVerified: false, admin: { state: 'none' }, keyFile: undefined, currentEf: undefined });

const fail = (sw: number): never => {
  throw new StatusWordAnswer(sw);
};

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');
const unhex = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, 'hex'));
const tagHex = (tag: number): string => {
  const text = tag.toString(16);
  return text.length % 2 === 0 ? text : `0${text}`;
};

export interface CreateGidsCardOptions {
  /** A factory serial for listing cards; random 8 digits when absent. */
  serial?: number;
}

/**
 * The GIDS v2 application of a card, as its only and default application: it answers without a
 * prior SELECT; a SELECT of any other AID answers 6A82 and, like a deselect, drops every
 * authentication. A blank card (`createBlank`) is in initialisation mode until ACTIVATE on the
 * application; its state is stored as versioned JSON through a CardStateStore after every change.
 */
export class VirtualGidsCard implements VirtualCard {
  readonly atr = VIRTUAL_GIDS_ATR;
  readonly #stored: StoredCardState<GidsCardState>;
  #security = freshSecurityStatus();
  readonly #framing = new ApduFraming({ maxCommandData: MAX_COMMAND_DATA });

  private constructor(stored: StoredCardState<GidsCardState>) {
    this.#stored = stored;
  }

  get #state(): GidsCardState {
    return this.#stored.state;
  }

  set #state(state: GidsCardState) {
    this.#stored.state = state;
  }

  /** Makes a blank card, in initialisation mode as it leaves the factory, and stores it. */
  static createBlank(store: CardStateStore, options: CreateGidsCardOptions = {}): VirtualGidsCard {
    return new VirtualGidsCard(StoredCardState.create(store, gidsCardStateCodec, blankGidsCardState(options.serial ?? randomSerial())));
  }

  /** Loads a card from its store; a missing or damaged state is a StateFileError. */
  static open(store: CardStateStore, where = 'virtual card state'): VirtualGidsCard {
    return new VirtualGidsCard(StoredCardState.open(store, gidsCardStateCodec, where));
  }

  static isGidsState(text: string): boolean {
    return gidsCardStateCodec.recognises(text);
  }

  get serial(): number {
    return this.#state.serial;
  }

  /** False while the card is blank (initialisation mode). */
  get isInitialised(): boolean {
    return this.#state.lifeCycle === 'operational';
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
    switch (command.ins) {
      case GIDS_INS.SELECT:
        return this.#select(command);
      case GIDS_INS.GET_DATA:
        return this.#getData(command);
      case GIDS_INS.PUT_DATA:
        return this.#putData(command);
      case GIDS_INS.VERIFY:
        return this.#verify(command);
      case GIDS_INS.CHANGE_REFERENCE_DATA:
        return this.#changeReferenceData(command);
      case GIDS_INS.RESET_RETRY_COUNTER:
        return this.#resetRetryCounter(command);
      case GIDS_INS.MANAGE_SECURITY_ENVIRONMENT:
        return this.#manageSecurityEnvironment(command);
      case GIDS_INS.GENERAL_AUTHENTICATE:
        return this.#generalAuthenticate(command);
      case GIDS_INS.CREATE_FILE:
        return this.#createFile(command);
      case GIDS_INS.DELETE_FILE:
        return this.#deleteFile(command);
      case GIDS_INS.ACTIVATE_FILE:
        return this.#activate(command);
      case GIDS_INS.PERFORM_SECURITY_OPERATION:
        // This card holds no private keys, so no key can have been chosen for signing or decrypting.
        return answer((command.p1 === 0x9e && command.p2 === 0x9a) || (command.p1 === 0x80 && command.p2 === 0x86) ? SW.CONDITIONS_NOT_SATISFIED : SW.INCORRECT_P1P2);
      case GIDS_INS.GENERATE_ASYMMETRIC_KEY_PAIR:
        if (command.p1 !== 0 || command.p2 !== 0) return answer(SW.INCORRECT_P1P2);
        decodeTlv(command.data);
        return answer(SW.FUNCTION_NOT_SUPPORTED);
      default:
        return answer(SW.INS_NOT_SUPPORTED);
    }
  }

  // --- State -------------------------------------------------------------------------------

  get #initialisationMode(): boolean {
    return this.#state.lifeCycle === 'initialisation';
  }

  /** Writes the state; on failure the card keeps its last stored state and answers a memory failure. */
  #commit(): void {
    this.#stored.commit();
  }

  /** What a deselect does on the applet: PIN and admin authentication, challenges and key choice are forgotten. */
  #deauthenticateAll(): void {
    this.#security.pinVerified = false;
    this.#security.admin = { state: 'none' };
    this.#security.keyFile = undefined;
  }

  #file(id: number): GidsStoredFile | undefined {
    return this.#state.files.find((file) => file.id === id);
  }

  #keyFile(reference: number): GidsKeyFile {
    const file = this.#file(0xb000 | reference);
    if (file?.kind !== 'key') return fail(SW.INCORRECT_DATA);
    return file;
  }

  // --- Access conditions -------------------------------------------------------------------

  #userAuthenticated(): boolean {
    return this.#initialisationMode || this.#security.pinVerified;
  }

  /** Admin rights come only from the admin key (B080): a key file someone else created grants nothing. */
  #adminAuthenticated(): boolean {
    const admin = this.#security.admin;
    return this.#initialisationMode || (admin.state === 'authenticated' && admin.keyFile === ADMIN_KEY_FILE);
  }

  /** One security condition byte: 00 always, FF never, else PIN (1x/9x) and/or admin key (2x/Ax). */
  #checkCondition(condition: number): void {
    if (condition === 0x00) return;
    if (condition === 0xff) fail(SW.SECURITY_STATUS_NOT_SATISFIED);
    const method = condition & 0xf0;
    if (method === 0x90) {
      if (this.#userAuthenticated()) return;
      fail(SW.SECURITY_STATUS_NOT_SATISFIED);
    }
    if ((method & 0x90) === 0x10 && this.#userAuthenticated()) return;
    if (method === 0xa0) {
      if (this.#adminAuthenticated()) return;
      fail(SW.SECURITY_STATUS_NOT_SATISFIED);
    }
    if ((method & 0xa0) === 0x20 && this.#adminAuthenticated()) return;
    fail(SW.SECURITY_STATUS_NOT_SATISFIED);
  }

  /** Checks the compact security attribute (8C) for one operation: access-mode byte, then conditions from bit 40 down to bit 01. */
  #checkAccess(securityAttribute: Uint8Array | undefined, operation: number): void {
    if (!securityAttribute || securityAttribute.length === 0) return;
    const accessMode = securityAttribute[0]!;
    if (!(accessMode & operation)) return;
    let index = 1;
    for (let bit = 0x40; bit > operation; bit >>= 1) if (accessMode & bit) index++;
    // A condition byte missing from a short attribute locks the operation rather than opening it.
    this.#checkCondition(securityAttribute[index] ?? 0xff);
  }

  #checkApplicationAccess(operation: number): void {
    // The application in its creation state allows everything.
    if (this.#initialisationMode) return;
    this.#checkAccess(securityAttributeOf(APPLICATION_FCP), operation);
  }

  #checkFileAccess(file: GidsStoredFile, operation: number): void {
    // A created EF can only be activated until it is.
    if (!file.active && operation !== OP.ACTIVATE) fail(SW.CONDITIONS_NOT_SATISFIED);
    this.#checkAccess(securityAttributeOf(unhex(file.fcp)), operation);
  }

  // --- SELECT ------------------------------------------------------------------------------

  #select(command: CardCommand): CardAnswer {
    const returned = command.p2 & 0x0c;
    if ((command.p2 & 0xf3) !== 0) return answer(SW.INCORRECT_P1P2);
    if (command.p1 === 0x04) {
      const aid = command.data;
      const matches = aid.length >= 9 && aid.length <= GIDS_V2_FULL_AID.length && aid.every((b, i) => b === GIDS_V2_FULL_AID[i]);
      // Selecting anything deselects the GIDS applet first; a deselect forgets every authentication.
      this.#deauthenticateAll();
      this.#security.currentEf = undefined;
      if (!matches) return answer(SW.FILE_NOT_FOUND);
      this.#framing.clear();
      return this.#applicationSelectAnswer(returned);
    }
    if (command.p1 !== 0x00) return answer(SW.INCORRECT_P1P2);
    if (command.data.length !== 0 && command.data.length !== 2) return answer(SW.WRONG_LENGTH);
    const id = command.data.length === 0 ? GIDS_APPLICATION_FILE : (command.data[0]! << 8) | command.data[1]!;
    if (id === GIDS_APPLICATION_FILE || id === 0x3f00) {
      const response = this.#applicationSelectAnswer(returned);
      this.#security.currentEf = undefined;
      return response;
    }
    const file = this.#file(id);
    if (!file) return answer(SW.FILE_NOT_FOUND);
    if (returned === 0x00 || returned === 0x08) return answer(SW.INCORRECT_P1P2);
    this.#security.currentEf = id;
    return answer(SW.SUCCESS, returned === 0x04 ? unhex(file.fcp) : undefined);
  }

  #applicationSelectAnswer(returned: number): CardAnswer {
    switch (returned) {
      case 0x00:
        return answer(SW.SUCCESS, APPLICATION_FCI);
      case 0x04:
        return answer(SW.SUCCESS, APPLICATION_FCP);
      case 0x08:
        return answer(SW.SUCCESS, APPLICATION_FMD);
      default:
        return answer(SW.SUCCESS);
    }
  }

  // --- Data objects ------------------------------------------------------------------------

  /** The data-object EF named by P1 P2 (0000: the current EF). */
  #targetDataObjectFile(command: CardCommand): GidsDataObjectFile {
    const id = (command.p1 << 8) | command.p2;
    if (id === 0xffff) return fail(SW.INCORRECT_P1P2);
    const file = id === 0x0000 ? (this.#security.currentEf === undefined ? undefined : this.#file(this.#security.currentEf)) : this.#file(id);
    if (!file) return fail(id === 0x0000 ? SW.COMMAND_INCOMPATIBLE : SW.FILE_NOT_FOUND);
    if (file.kind !== 'data-objects') return fail(SW.COMMAND_INCOMPATIBLE);
    return file;
  }

  #getData(command: CardCommand): CardAnswer {
    if (command.p1 === GIDS_APPLICATION_FILE >> 8 && command.p2 === (GIDS_APPLICATION_FILE & 0xff)) return this.#getApplicationData(command.data);
    const file = this.#targetDataObjectFile(command);
    this.#checkFileAccess(file, OP.DO_GET_DATA);
    const list = decodeTlvs(command.data).find((tlv) => tlv.tag === GIDS_DO.TAG_LIST);
    if (!list) return answer(SW.INCORRECT_DATA);
    this.#security.currentEf = file.id;
    // An empty tag list (or 5C itself) asks for every object of the EF.
    if (list.value.length === 0 || (list.value.length === 1 && list.value[0] === GIDS_DO.TAG_LIST)) {
      return answer(SW.SUCCESS, concatBytes(...file.objects.map((object) => encodeStoredObject(object.tag, object.value))));
    }
    const wanted = hex(list.value);
    const object = file.objects.find((candidate) => candidate.tag === wanted);
    if (!object) return answer(SW.REFERENCE_NOT_FOUND);
    return answer(SW.SUCCESS, encodeStoredObject(object.tag, object.value));
  }

  /** GET DATA 3F FF: PIN status objects, or a key's public part. */
  #getApplicationData(data: Uint8Array): CardAnswer {
    if (data.length === 4 && data[0] === GIDS_DO.TAG_LIST && data[1] === 0x02) {
      const id = (data[2]! << 8) | data[3]!;
      if (id === GIDS_DO.PIN_STATUS || id === GIDS_DO.PIN_STATUS_ALIAS) {
        const { triesLeft, limit } = this.#state.pin;
        return answer(
          SW.SUCCESS,
          encodeTlv(id, encodeTlvs({ tag: GIDS_DO.TRIES_LEFT, value: Uint8Array.of(triesLeft) }, { tag: GIDS_DO.TRY_LIMIT, value: Uint8Array.of(limit) })),
        );
      }
      // GIDS v2 has no PUK: its status object is absent, which tells OpenSC so.
      return answer(id === GIDS_DO.PUK_STATUS ? SW.REFERENCE_NOT_FOUND : SW.INCORRECT_DATA);
    }
    if (data.length === 10 && data[0] === GIDS_DO.KEY_TEMPLATE) {
      const file = this.#keyFile(data[4]!);
      this.#checkFileAccess(file, OP.KEY_GET_PUBLIC_KEY);
      // Only symmetric keys live on this card: there is no public key to return.
      return answer(SW.REFERENCE_NOT_FOUND);
    }
    return answer(SW.INCORRECT_DATA);
  }

  #putData(command: CardCommand): CardAnswer {
    if (command.p1 === GIDS_APPLICATION_FILE >> 8 && command.p2 === (GIDS_APPLICATION_FILE & 0xff)) return this.#importKey(command.data);
    const file = this.#targetDataObjectFile(command);
    this.#checkFileAccess(file, OP.DO_PUT_DATA);
    const object = decodeTlv(command.data);
    const tag = tagHex(object.tag);
    const index = file.objects.findIndex((candidate) => candidate.tag === tag);
    if (index === -1 && file.objects.length >= MAX_OBJECTS_PER_FILE) return answer(SW.NOT_ENOUGH_MEMORY);
    this.#security.currentEf = file.id;
    if (index === -1) {
      file.objects.push({ tag, value: hex(object.value) });
    } else if (file.objects[index]!.value === '' && object.value.length === 0) {
      // Writing an empty object over an empty one deletes it (GidsApplet's rule).
      file.objects.splice(index, 1);
    } else {
      file.objects[index] = { tag, value: hex(object.value) };
    }
    this.#commit();
    return answer(SW.SUCCESS);
  }

  /** PUT DATA 3F FF: 70 { 84 keyReference, A5 { [83 keyType] [84 00] 87 key [88 ...] } } writes a symmetric key into key file B0xx. */
  #importKey(data: Uint8Array): CardAnswer {
    const template = decodeTlv(data);
    if (template.tag !== GIDS_DO.KEY_TEMPLATE) return answer(SW.INCORRECT_DATA);
    const fields = uniqueFields(decodeTlvs(template.value));
    const reference = fields.get(GIDS_DO.KEY_REFERENCE);
    const valueTemplate = fields.get(GIDS_DO.KEY_VALUE_TEMPLATE);
    if (reference?.length !== 1 || !valueTemplate) return answer(SW.INCORRECT_DATA);
    const file = this.#keyFile(reference[0]!);
    this.#checkFileAccess(file, OP.KEY_PUT_KEY);
    const keyFields = uniqueFields(decodeTlvs(valueTemplate));
    const keyType = keyFields.get(GIDS_DO.KEY_TYPE);
    const wrappingKey = keyFields.get(GIDS_DO.KEY_REFERENCE);
    const key = keyFields.get(GIDS_DO.KEY_VALUE);
    if ((keyType && keyType.length !== 1) || (wrappingKey && wrappingKey.length !== 1) || !key) return answer(SW.INCORRECT_DATA);
    // Key type 1 is symmetric (the default); RSA import (type 2) and encrypted import are not offered.
    if (keyType && keyType[0] !== 0x01 && keyType[0] !== 0x02) return answer(SW.INCORRECT_DATA);
    if (keyType?.[0] === 0x02 || (wrappingKey && wrappingKey[0] !== 0x00)) return answer(SW.FUNCTION_NOT_SUPPORTED);
    if (key.length !== GIDS_ADMIN_KEY_LENGTH) return answer(SW.INCORRECT_DATA);
    file.symmetricKey = hex(key);
    this.#commit();
    return answer(SW.SUCCESS);
  }

  // --- Files -------------------------------------------------------------------------------

  #createFile(command: CardCommand): CardAnswer {
    if (command.p1 !== 0 || command.p2 !== 0) return answer(SW.INCORRECT_P1P2);
    const fcp = command.data;
    const outer = decodeTlv(fcp);
    if ((outer.tag !== 0x62 && outer.tag !== 0x6f) || fcp.length > MAX_FCP_LENGTH) return answer(SW.INCORRECT_DATA);
    const fields = uniqueFields(decodeTlvs(outer.value));
    const idField = fields.get(0x83);
    const descriptor = fields.get(0x82);
    if (idField?.length !== 2 || !descriptor || descriptor.length < 1 || descriptor.length > 6) return answer(SW.INCORRECT_DATA);
    const id = (idField[0]! << 8) | idField[1]!;
    if (id === GIDS_APPLICATION_FILE || id === 0x3f00 || id === 0x0000 || id === 0xffff || this.#file(id)) return answer(SW.INCORRECT_DATA);
    const attribute = fields.get(0x8c);
    if (attribute && (attribute.length === 0 || attribute.length < 1 + bitCount(attribute[0]! & 0x7f))) return answer(SW.INCORRECT_DATA);
    let file: GidsStoredFile;
    if (descriptor[0] === GIDS_FILE_DESCRIPTOR.BER_TLV_DATA_OBJECTS) {
      file = { kind: 'data-objects', id, fcp: hex(fcp), active: false, objects: [] };
    } else if (descriptor[0] === GIDS_FILE_DESCRIPTOR.KEY) {
      const crt = fields.get(0xa5);
      if (!crt || crt.length < 11) return answer(SW.INCORRECT_DATA);
      decodeTlvs(crt);
      file = { kind: 'key', id, fcp: hex(fcp), active: false, symmetricKey: null };
    } else {
      return answer(SW.INCORRECT_DATA);
    }
    this.#checkApplicationAccess(OP.DF_CREATE_EF);
    if (file.kind === 'key' && !this.#adminAuthenticated()) return answer(SW.SECURITY_STATUS_NOT_SATISFIED);
    if (this.#state.files.length >= MAX_FILES) return answer(SW.NOT_ENOUGH_MEMORY);
    this.#state.files.push(file);
    this.#security.currentEf = id;
    this.#commit();
    return answer(SW.SUCCESS);
  }

  #deleteFile(command: CardCommand): CardAnswer {
    if (command.p1 !== 0 || command.p2 !== 0) return answer(SW.INCORRECT_P1P2);
    if (command.data.length !== 0) return answer(SW.WRONG_LENGTH);
    const id = this.#security.currentEf;
    const file = id === undefined ? undefined : this.#file(id);
    // With no EF selected the target would be the application itself, which is never deleted.
    if (!file) return answer(SW.COMMAND_NOT_ALLOWED);
    this.#checkFileAccess(file, OP.EF_DELETE);
    // An EF whose attribute says nothing about deletion falls under the application's "delete child"
    // condition (PIN or admin key): GidsApplet lets anyone delete it, which would let anyone wipe the
    // admin key or the card identifier.
    // The PIN alone must not be enough either: with it, the admin key file or the card identifier could
    // be deleted and recreated with values of the PIN holder's choosing.
    const saysNothingOfDeletion = !((securityAttributeOf(unhex(file.fcp))?.[0] ?? 0) & OP.EF_DELETE);
    if ((saysNothingOfDeletion || file.kind === 'key') && !this.#adminAuthenticated()) return answer(SW.SECURITY_STATUS_NOT_SATISFIED);
    this.#state.files = this.#state.files.filter((candidate) => candidate.id !== file.id);
    if (this.#security.keyFile === file.id) this.#security.keyFile = undefined;
    this.#security.currentEf = undefined;
    this.#commit();
    return answer(SW.SUCCESS);
  }

  #activate(command: CardCommand): CardAnswer {
    if (command.p1 !== 0 || command.p2 !== 0) return answer(SW.INCORRECT_P1P2);
    if (command.data.length !== 0) return answer(SW.WRONG_LENGTH);
    const id = this.#security.currentEf;
    const file = id === undefined ? undefined : this.#file(id);
    if (file) {
      this.#checkFileAccess(file, OP.ACTIVATE);
      if (!file.active) {
        file.active = true;
        this.#commit();
      }
      return answer(SW.SUCCESS);
    }
    this.#checkApplicationAccess(OP.ACTIVATE);
    // Activating the application ends initialisation mode for good; from now on PIN and admin key guard it.
    if (this.#initialisationMode) {
      this.#state.lifeCycle = 'operational';
      this.#commit();
    }
    this.#deauthenticateAll();
    return answer(SW.SUCCESS);
  }

  // --- PIN ---------------------------------------------------------------------------------

  #checkPinReference(p2: number): void {
    if (p2 !== GIDS_PIN_REFERENCE && p2 !== 0x00) fail(SW.REFERENCE_NOT_FOUND);
  }

  /** Compares a presented PIN, counting a failure first so that a crash cannot refund a try. */
  /** The try is counted and stored before the comparison, so neither a crash nor a failing store refunds it. */
  #checkPin(presented: Uint8Array): number {
    const pin = this.#state.pin;
    this.#security.pinVerified = false;
    pin.triesLeft -= 1;
    this.#commit();
    const matches = pin.digest !== null && presented.length === pin.length && timingSafeEqual(Buffer.from(pinDigest(this.#state.salt, presented), 'hex'), Buffer.from(pin.digest, 'hex'));
    if (!matches) return SW.VERIFY_FAILED | pin.triesLeft;
    pin.triesLeft = pin.limit;
    this.#commit();
    this.#security.pinVerified = true;
    return SW.SUCCESS;
  }

  /** Sets a new PIN value: the try counter returns to its limit and the PIN is no longer verified (Java Card's OwnerPIN.update). */
  #setPin(value: Uint8Array): void {
    const pin = this.#state.pin;
    pin.digest = pinDigest(this.#state.salt, value);
    pin.length = value.length;
    pin.triesLeft = pin.limit;
    this.#security.pinVerified = false;
  }

  #isPinLength(length: number): boolean {
    return length >= GIDS_PIN_MIN_LENGTH && length <= GIDS_PIN_MAX_LENGTH;
  }

  #verify(command: CardCommand): CardAnswer {
    if (command.p1 !== 0x00) return answer(SW.INCORRECT_P1P2);
    if (command.p2 === GIDS_VERIFY_DEAUTHENTICATE_P2) {
      this.#deauthenticateAll();
      return answer(SW.SUCCESS);
    }
    this.#checkPinReference(command.p2);
    const pin = this.#state.pin;
    if (pin.triesLeft === 0) return answer(SW.AUTH_METHOD_BLOCKED);
    const length = command.data.length;
    // A PIN of impossible length is refused without spending a try.
    if (length > 0 && !this.#isPinLength(length)) return answer(SW.VERIFY_FAILED | pin.triesLeft);
    if (length === 0) return answer(this.#initialisationMode || this.#security.pinVerified ? SW.SUCCESS : SW.VERIFY_FAILED | pin.triesLeft);
    if (pin.digest === null) return answer(SW.REFERENCE_DATA_NOT_USABLE);
    return answer(this.#checkPin(command.data));
  }

  #changeReferenceData(command: CardCommand): CardAnswer {
    const data = command.data;
    if (command.p1 === GIDS_CHANGE_PIN_P1.NEW_ONLY) {
      this.#checkPinReference(command.p2);
      if (!this.#isPinLength(data.length)) return answer(SW.WRONG_LENGTH);
      // Without the old PIN: the first PIN of a blank card, or a PIN verified in this session.
      if (!this.#initialisationMode && !this.#security.pinVerified) return answer(SW.SECURITY_STATUS_NOT_SATISFIED);
      this.#setPin(data);
      this.#commit();
      return answer(SW.SUCCESS);
    }
    if (command.p1 !== GIDS_CHANGE_PIN_P1.OLD_AND_NEW) return answer(SW.INCORRECT_P1P2);
    this.#checkPinReference(command.p2);
    const pin = this.#state.pin;
    if (data.length > 2 * GIDS_PIN_MAX_LENGTH || data.length < 2 * GIDS_PIN_MIN_LENGTH) return answer(SW.VERIFY_FAILED | pin.triesLeft);
    if (pin.triesLeft === 0) return answer(SW.AUTH_METHOD_BLOCKED);
    if (pin.digest === null) return answer(SW.REFERENCE_DATA_NOT_USABLE);
    // Old and new come unpadded: the card splits them at its current PIN's length.
    const oldLength = Math.min(data.length, pin.length);
    const next = data.subarray(oldLength);
    // A new PIN of impossible length is refused before the old one is tried: a refusal changes nothing.
    if (!this.#isPinLength(next.length)) return answer(SW.WRONG_LENGTH);
    const result = this.#checkPin(data.subarray(0, oldLength));
    if (result !== SW.SUCCESS) return answer(result);
    this.#setPin(next);
    this.#security.pinVerified = true;
    this.#commit();
    return answer(SW.SUCCESS);
  }

  #resetRetryCounter(command: CardCommand): CardAnswer {
    if (this.#initialisationMode) return answer(SW.COMMAND_NOT_ALLOWED);
    if (command.p1 !== GIDS_RESET_RETRY_COUNTER_P1) return answer(SW.INCORRECT_P1P2);
    if (command.p2 !== GIDS_PIN_REFERENCE) return answer(SW.REFERENCE_NOT_FOUND);
    if (!this.#adminAuthenticated()) return answer(SW.SECURITY_STATUS_NOT_SATISFIED);
    if (!this.#isPinLength(command.data.length)) return answer(SW.WRONG_LENGTH);
    this.#setPin(command.data);
    this.#commit();
    // One admin authentication buys exactly one unblock.
    this.#deauthenticateAll();
    return answer(SW.SUCCESS);
  }

  // --- Admin key authentication ------------------------------------------------------------

  #manageSecurityEnvironment(command: CardCommand): CardAnswer {
    const fields = decodeTlvs(command.data);
    const field = (tag: number) => fields.find((tlv) => tlv.tag === tag)?.value;
    let reference: Uint8Array | undefined;
    let algorithm: number;
    switch (command.p1) {
      case 0x81:
      case 0xc1:
        reference = field(0x83);
        algorithm = 0x02;
        break;
      case 0x41: {
        const algorithmField = field(0x80);
        if (algorithmField?.length !== 1) return answer(SW.INCORRECT_DATA);
        algorithm = algorithmField[0]!;
        reference = field(0x84);
        break;
      }
      case 0xf3:
        // RESTORE names no key, which this application refuses.
        return answer(SW.INCORRECT_DATA);
      default:
        return answer(SW.FUNCTION_NOT_SUPPORTED);
    }
    if (reference?.length !== 1) return answer(SW.INCORRECT_DATA);
    const file = this.#keyFile(reference[0]!);
    if (!keyUsageAllows(unhex(file.fcp), command.p2, algorithm)) return answer(SW.INCORRECT_DATA);
    this.#checkFileAccess(file, OP.KEY_MANAGE_SECURITY_ENVIRONMENT);
    // Choosing a key ends any authentication under way or done with another one.
    if (this.#security.keyFile !== file.id || command.p1 === 0x41) this.#security.admin = { state: 'none' };
    this.#security.keyFile = command.p1 === 0x41 ? undefined : file.id;
    return answer(SW.SUCCESS);
  }

  #selectedSymmetricKey(): Uint8Array | undefined {
    const id = this.#security.keyFile;
    const file = id === undefined ? undefined : this.#file(id);
    return file?.kind === 'key' && file.symmetricKey !== null ? unhex(file.symmetricKey) : undefined;
  }

  #generalAuthenticate(command: CardCommand): CardAnswer {
    if (this.#initialisationMode) return answer(SW.COMMAND_NOT_ALLOWED);
    if (command.p1 !== 0 || command.p2 !== 0) return answer(SW.INCORRECT_P1P2);
    const template = decodeTlv(command.data);
    if (template.tag !== GIDS_DYNAMIC_AUTH.TEMPLATE) return answer(SW.INCORRECT_DATA);
    const fields = decodeTlvs(template.value);
    const challengeField = fields.find((tlv) => tlv.tag === GIDS_DYNAMIC_AUTH.CHALLENGE);
    if (challengeField) return this.#sendChallenge(challengeField.value);
    const responseField = fields.find((tlv) => tlv.tag === GIDS_DYNAMIC_AUTH.RESPONSE);
    if (responseField) return this.#checkResponse(responseField.value);
    return answer(SW.INCORRECT_DATA);
  }

  /** Step 1: an empty 81 asks for an 8-byte challenge (external); a 16-byte 81 brings the host's random (mutual). */
  #sendChallenge(hostRandom: Uint8Array): CardAnswer {
    if (hostRandom.length !== 0 && hostRandom.length !== MUTUAL_RANDOM_LENGTH) return answer(SW.INCORRECT_DATA);
    const keyFile = this.#security.keyFile;
    if (keyFile === undefined || this.#selectedSymmetricKey() === undefined) return answer(SW.CONDITIONS_NOT_SATISFIED);
    // A new authentication always starts from nothing: an earlier one, finished or not, is dropped.
    this.#security.admin = { state: 'none' };
    const mutual = hostRandom.length === MUTUAL_RANDOM_LENGTH;
    const cardRandom = new Uint8Array(randomBytes(mutual ? MUTUAL_RANDOM_LENGTH : EXTERNAL_CHALLENGE_LENGTH));
    this.#security.admin = mutual
      ? { state: 'mutual-challenge', keyFile, hostRandom: Uint8Array.from(hostRandom), cardRandom }
      : { state: 'external-challenge', keyFile, challenge: cardRandom };
    return answer(SW.SUCCESS, encodeTlv(GIDS_DYNAMIC_AUTH.TEMPLATE, encodeTlv(GIDS_DYNAMIC_AUTH.CHALLENGE, cardRandom)));
  }

  /** Step 2: the host's cryptogram. Right or wrong, the challenge is spent. */
  #checkResponse(cryptogram: Uint8Array): CardAnswer {
    if (cryptogram.length > MUTUAL_CRYPTOGRAM_LENGTH) return answer(SW.INCORRECT_DATA);
    const pending = this.#security.admin;
    if (pending.state !== 'external-challenge' && pending.state !== 'mutual-challenge') return answer(SW.CONDITIONS_NOT_SATISFIED);
    this.#security.admin = { state: 'none' };
    // The answer is checked against the key the challenge was issued for, never a key chosen since.
    if (this.#security.keyFile !== pending.keyFile) return answer(SW.SECURITY_STATUS_NOT_SATISFIED);
    const key = this.#selectedSymmetricKey();
    if (key === undefined) return answer(SW.CONDITIONS_NOT_SATISFIED);
    if (pending.state === 'external-challenge') {
      if (cryptogram.length !== EXTERNAL_CHALLENGE_LENGTH) return answer(SW.SECURITY_STATUS_NOT_SATISFIED);
      if (!timingSafeEqual(cryptogram, adminKeyEncrypt(key, pending.challenge))) return answer(SW.SECURITY_STATUS_NOT_SATISFIED);
      this.#security.admin = { state: 'authenticated', keyFile: pending.keyFile };
      return answer(SW.SUCCESS);
    }
    if (cryptogram.length !== MUTUAL_CRYPTOGRAM_LENGTH) return answer(SW.SECURITY_STATUS_NOT_SATISFIED);
    const plain = adminKeyDecrypt(key, cryptogram);
    const expected = concatBytes(pending.cardRandom, pending.hostRandom);
    if (!timingSafeEqual(plain.subarray(0, 2 * MUTUAL_RANDOM_LENGTH), expected) || plain[MUTUAL_CRYPTOGRAM_LENGTH - 1] !== MUTUAL_PADDING) {
      return answer(SW.SECURITY_STATUS_NOT_SATISFIED);
    }
    const z2 = concatBytes(new Uint8Array(randomBytes(7)), Uint8Array.of(MUTUAL_PADDING));
    const proof = adminKeyEncrypt(key, concatBytes(pending.hostRandom, pending.cardRandom, z2));
    this.#security.admin = { state: 'authenticated', keyFile: pending.keyFile };
    return answer(SW.SUCCESS, encodeTlv(GIDS_DYNAMIC_AUTH.TEMPLATE, encodeTlv(GIDS_DYNAMIC_AUTH.RESPONSE, proof)));
  }
}

/** The compact security attribute (8C) of an FCP, if it has one. */
function securityAttributeOf(fcp: Uint8Array): Uint8Array | undefined {
  try {
    return decodeTlvs(decodeTlv(fcp).value).find((tlv) => tlv.tag === 0x8c)?.value;
  } catch {
    return new Uint8Array([0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
  }
}

/** Whether a key file's control reference template allows the operation template (e.g. A4) with this algorithm. */
function keyUsageAllows(fcp: Uint8Array, operationTemplate: number, algorithm: number): boolean {
  try {
    const crt = decodeTlvs(decodeTlv(fcp).value).find((tlv) => tlv.tag === 0xa5);
    if (!crt) return false;
    return decodeTlvs(crt.value).some((usage) => {
      if (usage.tag !== operationTemplate) return false;
      const algorithmField = decodeTlvs(usage.value).find((tlv) => tlv.tag === 0x80);
      return algorithmField?.value.length === 1 && algorithmField.value[0] === algorithm;
    });
  } catch {
    return false;
  }
}

function uniqueFields(tlvs: Tlv[]): Map<number, Uint8Array> {
  const map = new Map<number, Uint8Array>();
  for (const { tag, value } of tlvs) {
    if (map.has(tag)) fail(SW.INCORRECT_DATA);
    map.set(tag, value);
  }
  return map;
}

function encodeStoredObject(tag: string, value: string): Uint8Array {
  return encodeTlv(Number.parseInt(tag, 16), unhex(value));
}

function bitCount(value: number): number {
  let count = 0;
  for (let v = value; v; v >>= 1) count += v & 1;
  return count;
}
