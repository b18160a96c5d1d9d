// A session with a card's GIDS application (Microsoft Generic Identity Device Specification).
import { randomBytes } from 'node:crypto';
import type { Secret } from '../../secret.ts';
import { ApduConnection, type ApduConnectionOptions } from '../apdu-connection.ts';
import type { CommandApdu, ResponseApdu } from '../apdu.ts';
import {
  ApplicationNotFoundError,
  AuthenticationFailedError,
  CardAlreadyInitialisedError,
  CardNotInitialisedError,
  CardStatusError,
  DataObjectNotFoundError,
  InvalidArgumentError,
  InvalidPinError,
  InvalidResponseError,
  NotSupportedError,
  PinBlockedError,
  PinFormatError,
  SecurityStatusError,
} from '../card-errors.ts';
import type { CardTransport } from '../card-transport.ts';
import { SW, triesLeftFromStatusWord } from '../status-words.ts';
import { decodeTlv } from '../tlv.ts';
import { adminKeyEncrypt } from './gids-admin-crypto.ts';
import {
  adminKeyBytes,
  applicationIdFromFci,
  challengeCommand,
  challengeResponseCommand,
  changeAdminKeyCommand,
  changePinCommand,
  getDataCommand,
  isValidCardProof,
  mutualAuthenticationCryptogramCommand,
  mutualAuthenticationStartCommand,
  newAdminKeyBytes,
  newPinBytes,
  parseCardRandom,
  parseChallenge,
  parsePinStatus,
  pinStatusCommand,
  putAdminKeyCommand,
  putDataCommand,
  resetRetryCounterCommand,
  selectAdminKeyCommand,
  selectApplicationCommand,
  setPinCommand,
  verifyPinCommand,
  type PinStatus,
} from './gids-commands.ts';
import { CARD_ID_LENGTH, GIDS_APPLICATION_FILE, GIDS_INS, GIDS_OBJECT, GIDS_VERIFY_DEAUTHENTICATE_P2, MUTUAL_RANDOM_LENGTH } from './gids-constants.ts';
import { adminKeyFileFcp, initialDataObjectFiles } from './gids-file-control.ts';
import { encodeMasterFile, findMasterFileRecord, INITIAL_MASTER_FILE_RECORDS, parseMasterFile } from './gids-master-file.ts';

export type { PinStatus } from './gids-commands.ts';

export interface InitialiseOptions {
  pin: Secret;
  adminKey: Secret;
  /** The 16-byte card identifier; a random one when absent. */
  cardId?: Uint8Array;
}

/** The minidriver's list of card applications: one 8-byte name, "mscp". */
const CARD_APPS_CONTENT = Uint8Array.from([...Buffer.from('mscp', 'latin1'), 0, 0, 0, 0]);
/** The minidriver's cache-freshness counters, all zero on a new card. */
const CARD_CF_CONTENT = new Uint8Array(6);

/**
 * One GIDS application on one card. Create it with `GidsSession.open`, which selects the
 * application; every status word that means something becomes a typed error here.
 */
export class GidsSession {
  private constructor(
    private readonly connection: ApduConnection,
    /** The application identifier the card reported on SELECT (version included), if it did. */
    readonly applicationId: Uint8Array | undefined,
  ) {}

  static async open(transport: CardTransport, options: ApduConnectionOptions = {}): Promise<GidsSession> {
    const connection = new ApduConnection(transport, options);
    const selected = await connection.send(selectApplicationCommand());
    if (selected.sw === SW.FILE_NOT_FOUND) throw new ApplicationNotFoundError('the card has no GIDS application');
    if (selected.sw !== SW.SUCCESS) throw new CardStatusError(selected.sw, 'selecting the GIDS application');
    return new GidsSession(connection, applicationIdFromFci(selected.data));
  }

  /** APDUs exchanged since the session was opened. */
  get apduCount(): number {
    return this.connection.apduCount;
  }

  async #send(command: CommandApdu): Promise<ResponseApdu> {
    return this.connection.send(command);
  }

  /** Sends a command whose only good answer is 9000; anything else becomes a typed error. */
  async #expectSuccess(operation: string, command: CommandApdu): Promise<Uint8Array> {
    const response = await this.#send(command);
    if (response.sw === SW.SUCCESS) return response.data;
    throw this.#errorFor(response.sw, operation);
  }

  #errorFor(sw: number, operation: string): Error {
    switch (sw) {
      case SW.SECURITY_STATUS_NOT_SATISFIED:
        return new SecurityStatusError(operation);
      case SW.COMMAND_NOT_ALLOWED:
        return new CardNotInitialisedError(`${operation} refused: the card is blank (still in initialisation mode)`);
      case SW.INS_NOT_SUPPORTED:
        return new NotSupportedError(`${operation} is not supported by this card`);
      case SW.FILE_NOT_FOUND:
      case SW.REFERENCE_NOT_FOUND:
        return new DataObjectNotFoundError(`${operation}: nothing stored there`);
      default:
        return new CardStatusError(sw, operation);
    }
  }

  // --- PIN ---------------------------------------------------------------------------------

  /** Tries left and try limit of the user PIN, without spending a try. */
  async getPinStatus(): Promise<PinStatus> {
    return parsePinStatus(await this.#expectSuccess('reading the PIN status', pinStatusCommand()));
  }

  async getPinTriesLeft(): Promise<number> {
    return (await this.getPinStatus()).triesLeft;
  }

  async verifyPin(pin: Secret): Promise<void> {
    const response = await this.#send(verifyPinCommand(pin));
    this.#checkPinAnswer(response.sw, 'verifying the PIN');
  }

  /** CHANGE REFERENCE DATA with the current and new PIN concatenated, unpadded. */
  async changePin(currentPin: Secret, newPin: Secret): Promise<void> {
    const response = await this.#send(changePinCommand(currentPin, newPin));
    this.#checkPinAnswer(response.sw, 'changing the PIN');
  }

  /** Forgets the verified PIN and any admin authentication (VERIFY with P2 82). */
  async logout(): Promise<void> {
    await this.#expectSuccess('logging out', { cla: 0, ins: GIDS_INS.VERIFY, p1: 0, p2: GIDS_VERIFY_DEAUTHENTICATE_P2 });
  }

  #checkPinAnswer(sw: number, operation: string): void {
    if (sw === SW.SUCCESS) return;
    if (sw === SW.AUTH_METHOD_BLOCKED) throw new PinBlockedError();
    const tries = triesLeftFromStatusWord(sw);
    if (tries !== undefined) throw new InvalidPinError(tries);
    if (sw === SW.WRONG_LENGTH) throw new PinFormatError(`${operation}: the card refused the new PIN's length`);
    if (sw === SW.REFERENCE_DATA_NOT_USABLE) throw new CardNotInitialisedError(`${operation}: the card has no PIN yet`);
    throw this.#errorFor(sw, operation);
  }

  // --- Admin key ---------------------------------------------------------------------------

  async #selectAdminKey(): Promise<void> {
    const response = await this.#send(selectAdminKeyCommand());
    // 6A80: no key file answers to reference 80, which only a blank card lacks.
    if (response.sw === SW.INCORRECT_DATA) throw new CardNotInitialisedError('the card has no admin key (a blank card is initialised first)');
    if (response.sw !== SW.SUCCESS) throw this.#errorFor(response.sw, 'selecting the admin key');
  }

  /**
   * Mutual authentication with the admin key, as OpenSC and the Windows minidriver do it: the
   * card proves it holds the key too, so a card that merely answers 9000 cannot fool us.
   */
  async authenticateAdmin(adminKey: Secret): Promise<void> {
    adminKeyBytes(adminKey);
    const operation = 'admin key mutual authentication';
    await this.#selectAdminKey();
    const hostRandom = new Uint8Array(randomBytes(MUTUAL_RANDOM_LENGTH));
    const first = await this.#send(mutualAuthenticationStartCommand(hostRandom));
    if (first.sw !== SW.SUCCESS) throw this.#errorFor(first.sw, operation);
    const cardRandom = parseCardRandom(first.data);
    // A card that echoes our random could reflect our own cryptogram back as its proof.
    if (Buffer.from(cardRandom).equals(Buffer.from(hostRandom))) throw new AuthenticationFailedError('the card echoed the host random: refusing a reflection');
    const second = await this.#send(mutualAuthenticationCryptogramCommand(adminKey, hostRandom, cardRandom, new Uint8Array(randomBytes(7))));
    if (second.sw === SW.SECURITY_STATUS_NOT_SATISFIED) throw new AuthenticationFailedError('wrong admin key: the card refused the authentication');
    if (second.sw !== SW.SUCCESS) throw this.#errorFor(second.sw, operation);
    if (!isValidCardProof(adminKey, hostRandom, cardRandom, second.data)) throw new AuthenticationFailedError('the card did not prove it holds the admin key');
  }

  /**
   * First half of external authentication: selects the admin key and returns the card's
   * 8-byte challenge. The card keeps it only until the next authentication attempt, a
   * reset or a deselect, so the answer must come back on this same connection.
   */
  async getUnblockChallenge(): Promise<Uint8Array> {
    await this.#selectAdminKey();
    const response = await this.#send(challengeCommand());
    if (response.sw !== SW.SUCCESS) throw this.#errorFor(response.sw, 'reading the admin key challenge');
    return parseChallenge(response.data);
  }

  /** Second half of external authentication: the challenge encrypted under the admin key. */
  async #answerChallenge(response: Uint8Array): Promise<void> {
    const answer = await this.#send(challengeResponseCommand(response));
    if (answer.sw === SW.SECURITY_STATUS_NOT_SATISFIED) throw new AuthenticationFailedError('the card refused the response to its challenge');
    if (answer.sw === SW.CONDITIONS_NOT_SATISFIED) {
      throw new AuthenticationFailedError('the card has no pending challenge (it was reset, reselected or already answered): read a new challenge');
    }
    if (answer.sw !== SW.SUCCESS) throw this.#errorFor(answer.sw, 'answering the admin key challenge');
  }

  /** External authentication with the admin key in one go (challenge, then its encryption). */
  async authenticateAdminExternal(adminKey: Secret): Promise<void> {
    const key = adminKeyBytes(adminKey);
    const challenge = await this.getUnblockChallenge();
    await this.#answerChallenge(adminKeyEncrypt(key, challenge));
  }

  /**
   * RESET RETRY COUNTER with a new PIN; needs an admin authentication just before, which the
   * card drops once the PIN is set.
   */
  async resetRetryCounter(newPin: Secret): Promise<void> {
    const response = await this.#send(resetRetryCounterCommand(newPin));
    if (response.sw === SW.WRONG_LENGTH) throw new PinFormatError("the card refused the new PIN's length");
    if (response.sw !== SW.SUCCESS) throw this.#errorFor(response.sw, 'unblocking the PIN');
  }

  /** Online unblock: mutual authentication with the admin key, then a new PIN. */
  async unblockPin(adminKey: Secret, newPin: Secret): Promise<void> {
    newPinBytes(newPin);
    await this.authenticateAdmin(adminKey);
    await this.resetRetryCounter(newPin);
  }

  /**
   * Offline unblock, second step: the response to the challenge of `getUnblockChallenge`
   * (3DES of it under the admin key, computed by the helpdesk), then the new PIN. PIN and
   * response are checked first, so a bad one cannot spend the card's challenge.
   */
  async unblockWithResponse(response: Uint8Array, newPin: Secret): Promise<void> {
    newPinBytes(newPin);
    challengeResponseCommand(response);
    await this.#answerChallenge(response);
    await this.resetRetryCounter(newPin);
  }

  /** Replaces the admin key (PUT DATA of a key template into key file B0 80); needs a prior admin authentication. */
  async changeAdminKey(newKey: Secret): Promise<void> {
    await this.#expectSuccess('changing the admin key', changeAdminKeyCommand(newKey));
  }

  // --- Data objects and identity -----------------------------------------------------------

  /** A data object's content from an EF; DataObjectNotFoundError when the EF or object is absent. */
  async getDataObject(file: number, tag: number): Promise<Uint8Array> {
    const operation = `reading data object ${tag.toString(16).toUpperCase()} of EF ${file.toString(16).toUpperCase()}`;
    const object = decodeTlv(await this.#expectSuccess(operation, getDataCommand(file, tag)));
    if (object.tag !== tag) throw new InvalidResponseError(`${operation}: unexpected tag ${object.tag.toString(16)}`);
    return Uint8Array.from(object.value);
  }

  async #getDataObjectIfPresent(file: number, tag: number): Promise<Uint8Array | undefined> {
    try {
      return await this.getDataObject(file, tag);
    } catch (error) {
      if (error instanceof DataObjectNotFoundError) return undefined;
      throw error;
    }
  }

  /** Writes a data object into an EF (needs the PIN or admin key, per the EF's conditions). */
  async putDataObject(file: number, tag: number, content: Uint8Array): Promise<void> {
    await this.#expectSuccess(`writing data object ${tag.toString(16).toUpperCase()}`, putDataCommand(file, tag, content));
  }

  /** True once the card carries the minidriver file system (its master file is readable). */
  async isInitialised(): Promise<boolean> {
    return (await this.#getDataObjectIfPresent(GIDS_OBJECT.MASTER_FILE.file, GIDS_OBJECT.MASTER_FILE.tag)) !== undefined;
  }

  /**
   * The 16-byte card identifier (the minidriver's `cardid`, what `gids-tool --serial-number`
   * writes), found through the master file as OpenSC does; undefined on a blank card.
   */
  async getCardIdentifier(): Promise<Uint8Array | undefined> {
    const master = await this.#getDataObjectIfPresent(GIDS_OBJECT.MASTER_FILE.file, GIDS_OBJECT.MASTER_FILE.tag);
    if (master === undefined) return undefined;
    const record = findMasterFileRecord(parseMasterFile(master), '', 'cardid');
    if (!record) return undefined;
    return this.#getDataObjectIfPresent(record.file, record.tag);
  }

  /** The serial number OpenSC reports for the card: the card identifier in upper-case hex. */
  async getSerialNumber(): Promise<string | undefined> {
    const id = await this.getCardIdentifier();
    return id === undefined ? undefined : Buffer.from(id).toString('hex').toUpperCase();
  }

  /**
   * Initialises a blank card as gids-tool -X does: user PIN, the minidriver's EFs, admin key,
   * master file, card identifier; then activates the application, which leaves
   * initialisation mode for good. Returns the card identifier written.
   */
  async initialise(options: InitialiseOptions): Promise<Uint8Array> {
    const setPin = setPinCommand(options.pin);
    const putKey = putAdminKeyCommand(newAdminKeyBytes(options.adminKey));
    const cardId = options.cardId ?? new Uint8Array(randomBytes(CARD_ID_LENGTH));
    if (cardId.length !== CARD_ID_LENGTH) throw new InvalidArgumentError(`a GIDS card identifier has ${CARD_ID_LENGTH} bytes, got ${cardId.length}`);
    if (await this.isInitialised()) throw new CardAlreadyInitialisedError('the card is already initialised');

    const response = await this.#send(setPin);
    if (response.sw === SW.SECURITY_STATUS_NOT_SATISFIED) throw new CardAlreadyInitialisedError('the card left initialisation mode already');
    this.#checkPinAnswer(response.sw, 'setting the first PIN');
    for (const fcp of [...initialDataObjectFiles(), adminKeyFileFcp()]) {
      await this.#expectSuccess('creating a file', { cla: 0, ins: GIDS_INS.CREATE_FILE, p1: 0, p2: 0, data: fcp });
      await this.#expectSuccess('activating a file', { cla: 0, ins: GIDS_INS.ACTIVATE_FILE, p1: 0, p2: 0 });
    }
    await this.#expectSuccess('writing the admin key', putKey);
    const { MASTER_FILE, CARD_APPS, CARD_CF, CMAP_FILE, CARD_ID } = GIDS_OBJECT;
    await this.putDataObject(MASTER_FILE.file, MASTER_FILE.tag, encodeMasterFile(INITIAL_MASTER_FILE_RECORDS));
    await this.putDataObject(CARD_APPS.file, CARD_APPS.tag, CARD_APPS_CONTENT);
    await this.putDataObject(CARD_CF.file, CARD_CF.tag, CARD_CF_CONTENT);
    await this.putDataObject(CMAP_FILE.file, CMAP_FILE.tag, new Uint8Array(0));
    await this.putDataObject(CARD_ID.file, CARD_ID.tag, cardId);
    const applicationFile = Uint8Array.of(GIDS_APPLICATION_FILE >> 8, GIDS_APPLICATION_FILE & 0xff);
    await this.#expectSuccess('selecting the application file', { cla: 0, ins: GIDS_INS.SELECT, p1: 0x00, p2: 0x0c, data: applicationFile });
    await this.#expectSuccess('activating the application', { cla: 0, ins: GIDS_INS.ACTIVATE_FILE, p1: 0, p2: 0 });
    return Uint8Array.from(cardId);
  }
}
