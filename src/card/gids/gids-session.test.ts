// GidsSession against the in-process virtual GIDS card: every operation, the offline unblock, refusals and APDU counts.
import { describe, expect, it } from 'vitest';
import { Secret } from '../../secret.ts';
import { MemoryStateStore } from '../../virtual-card/card-state-store.ts';
import { InProcessTransport } from '../../virtual-card/in-process-transport.ts';
import { VirtualGidsCard } from '../../virtual-card/gids/virtual-gids-card.ts';
import type { CardTransport } from '../card-transport.ts';
import { computeUnblockResponse } from '../challenge-response.ts';
import { GidsSession } from './gids-session.ts';

const ADMIN_KEY = Secret.fromHex('0123456789ABCDEFFEDCBA987654321089ABCDEF01234567');
const OTHER_KEY = Secret.fromHex('1122334455667788AABBCCDDEEFF00119988776655443322');
const CARD_ID = Uint8Array.from(Buffer.from('00112233445566778899AABBCCDDEEFF', 'hex'));
const pin = (text: string) => Secret.fromText(text);

/** A transport that keeps the status word of every answer, so tests can name what the card said. */
class RecordingTransport implements CardTransport {
  readonly statusWords: number[] = [];
  constructor(private readonly inner: CardTransport) {}
  async transmit(command: Uint8Array): Promise<Uint8Array> {
    const response = await this.inner.transmit(command);
    this.statusWords.push((response[response.length - 2]! << 8) | response[response.length - 1]!);
    return response;
  }
  get lastStatusWord(): number | undefined {
    return this.statusWords.at(-1);
  }
}

interface Fixture {
  card: VirtualGidsCard;
  store: MemoryStateStore;
  transport: RecordingTransport;
  session: GidsSession;
}

async function blankCard(): Promise<Fixture> {
  const store = new MemoryStateStore();
  const card = VirtualGidsCard.createBlank(store, { serial: 40_000_001 });
  const transport = new RecordingTransport(new InProcessTransport(card));
  return { card, store, transport, session: await GidsSession.open(transport) };
}

async function initialisedCard(): Promise<Fixture> {
  const fixture = await blankCard();
  await fixture.session.initialise({ pin: pin('1234'), adminKey: ADMIN_KEY, cardId: CARD_ID });
  return fixture;
}

async function blockPin(session: GidsSession): Promise<void> {
  for (let i = 0; i < 3; i++) await session.verifyPin(pin('0000')).catch(() => undefined);
  await expect(session.verifyPin(pin('1234'))).rejects.toMatchObject({ code: 'ERR_CARD_PIN_BLOCKED' });
}

describe('GidsSession on a blank card', () => {
  it('selects the GIDS v2 application and sees a card without file system', async () => {
    const { session } = await blankCard();
    expect(Buffer.from(session.applicationId!).toString('hex')).toBe('a000000397425446590201');
    expect(await session.isInitialised()).toBe(false);
    expect(await session.getCardIdentifier()).toBeUndefined();
    expect(await session.getPinStatus()).toEqual({ triesLeft: 3, limit: 3 });
  });

  it('refuses admin authentication and unblock (6986) while the card is in initialisation mode', async () => {
    const { session, transport } = await blankCard();
    // A blank card has no admin key file yet, so MANAGE SECURITY ENVIRONMENT already fails (6A80).
    await expect(session.getUnblockChallenge()).rejects.toMatchObject({ code: 'ERR_CARD_NOT_INITIALISED' });
    await expect(session.resetRetryCounter(pin('5678'))).rejects.toMatchObject({ code: 'ERR_CARD_NOT_INITIALISED' });
    expect(transport.lastStatusWord).toBe(0x6986);
  });

  it('initialises the card with PIN, admin key and card identifier, once only', async () => {
    const { session, card } = await blankCard();
    const written = await session.initialise({ pin: pin('1234'), adminKey: ADMIN_KEY, cardId: CARD_ID });
    expect(written).toEqual(CARD_ID);
    expect(card.isInitialised).toBe(true);
    expect(await session.isInitialised()).toBe(true);
    expect(await session.getCardIdentifier()).toEqual(CARD_ID);
    expect(await session.getSerialNumber()).toBe('00112233445566778899AABBCCDDEEFF');
    await session.verifyPin(pin('1234'));
    await session.authenticateAdmin(ADMIN_KEY);
    await expect(session.initialise({ pin: pin('1234'), adminKey: ADMIN_KEY })).rejects.toMatchObject({ code: 'ERR_CARD_ALREADY_INITIALISED' });
  });

  it('picks a random card identifier when none is given', async () => {
    const { session } = await blankCard();
    const id = await session.initialise({ pin: pin('1234'), adminKey: ADMIN_KEY });
    expect(id).toHaveLength(16);
    expect(await session.getCardIdentifier()).toEqual(id);
  });

  it('refuses a new admin key that degenerates to single DES, before any APDU', async () => {
    const { session } = await blankCard();
    const before = session.apduCount;
    await expect(session.initialise({ pin: pin('1234'), adminKey: Secret.fromHex('010203040506070801020304050607080102030405060708') })).rejects.toMatchObject({
      code: 'ERR_CARD_INVALID_ARGUMENT',
    });
    expect(session.apduCount).toBe(before);
  });
});

describe('GidsSession PIN operations', () => {
  it('verifies the PIN; a wrong one costs a try and a right one restores them', async () => {
    const { session } = await initialisedCard();
    await expect(session.verifyPin(pin('9999'))).rejects.toMatchObject({ code: 'ERR_CARD_PIN_INVALID', triesLeft: 2 });
    expect(await session.getPinStatus()).toEqual({ triesLeft: 2, limit: 3 });
    await session.verifyPin(pin('1234'));
    expect(await session.getPinTriesLeft()).toBe(3);
  });

  it('changes the PIN with old and new concatenated, including to a longer one', async () => {
    const { session } = await initialisedCard();
    await session.changePin(pin('1234'), pin('correct horse 16'));
    await expect(session.verifyPin(pin('1234'))).rejects.toMatchObject({ triesLeft: 2 });
    await session.verifyPin(pin('correct horse 16'));
    await session.changePin(pin('correct horse 16'), pin('4321'));
    await session.verifyPin(pin('4321'));
  });

  it('a wrong current PIN in CHANGE REFERENCE DATA costs a try and changes nothing', async () => {
    const { session } = await initialisedCard();
    await expect(session.changePin(pin('4321'), pin('5555'))).rejects.toMatchObject({ code: 'ERR_CARD_PIN_INVALID', triesLeft: 2 });
    await session.verifyPin(pin('1234'));
  });

  it('refuses PINs outside 4..16 printable characters before talking to the card', async () => {
    const { session } = await initialisedCard();
    const before = session.apduCount;
    await expect(session.verifyPin(pin('123'))).rejects.toMatchObject({ code: 'ERR_CARD_PIN_FORMAT' });
    await expect(session.changePin(pin('1234'), pin('12345678901234567'))).rejects.toMatchObject({ code: 'ERR_CARD_PIN_FORMAT' });
    await expect(session.changePin(pin('1234'), pin('12\n34'))).rejects.toMatchObject({ code: 'ERR_CARD_PIN_FORMAT' });
    expect(session.apduCount).toBe(before);
  });

  it('reports a blocked PIN as blocked', async () => {
    const { session } = await initialisedCard();
    await blockPin(session);
    expect(await session.getPinStatus()).toEqual({ triesLeft: 0, limit: 3 });
    await expect(session.changePin(pin('1234'), pin('5678'))).rejects.toMatchObject({ code: 'ERR_CARD_PIN_BLOCKED' });
  });

  it('logout forgets the verified PIN', async () => {
    const { session, transport } = await initialisedCard();
    await session.verifyPin(pin('1234'));
    await session.putDataObject(0xa010, 0xdf22, new Uint8Array(6));
    await session.logout();
    await expect(session.putDataObject(0xa010, 0xdf22, new Uint8Array(6))).rejects.toMatchObject({ code: 'ERR_CARD_SECURITY_STATUS' });
    expect(transport.lastStatusWord).toBe(0x6982);
  });
});

describe('GidsSession admin key', () => {
  it('authenticates mutually and externally with the right key; a wrong key is refused with 6982', async () => {
    const { session, transport } = await initialisedCard();
    await session.authenticateAdmin(ADMIN_KEY);
    await session.authenticateAdminExternal(ADMIN_KEY);
    await expect(session.authenticateAdmin(OTHER_KEY)).rejects.toMatchObject({ code: 'ERR_CARD_AUTHENTICATION_FAILED' });
    expect(transport.lastStatusWord).toBe(0x6982);
    await expect(session.authenticateAdminExternal(OTHER_KEY)).rejects.toMatchObject({ code: 'ERR_CARD_AUTHENTICATION_FAILED' });
    expect(transport.lastStatusWord).toBe(0x6982);
  });

  it('unblocks a blocked PIN after admin authentication; the card then drops the authentication', async () => {
    const { session, transport } = await initialisedCard();
    await blockPin(session);
    await session.unblockPin(ADMIN_KEY, pin('2468'));
    expect(await session.getPinStatus()).toEqual({ triesLeft: 3, limit: 3 });
    await session.verifyPin(pin('2468'));
    await expect(session.resetRetryCounter(pin('1357'))).rejects.toMatchObject({ code: 'ERR_CARD_SECURITY_STATUS' });
    expect(transport.lastStatusWord).toBe(0x6982);
  });

  it('refuses RESET RETRY COUNTER without admin authentication, and a wrong admin key leaves the PIN blocked', async () => {
    const { session } = await initialisedCard();
    await blockPin(session);
    await expect(session.resetRetryCounter(pin('2468'))).rejects.toMatchObject({ code: 'ERR_CARD_SECURITY_STATUS' });
    await expect(session.unblockPin(OTHER_KEY, pin('2468'))).rejects.toMatchObject({ code: 'ERR_CARD_AUTHENTICATION_FAILED' });
    expect(await session.getPinTriesLeft()).toBe(0);
  });

  it('changes the admin key after authentication; the old key is refused afterwards', async () => {
    const { session } = await initialisedCard();
    await expect(session.changeAdminKey(OTHER_KEY)).rejects.toMatchObject({ code: 'ERR_CARD_SECURITY_STATUS' });
    await session.authenticateAdmin(ADMIN_KEY);
    await session.changeAdminKey(OTHER_KEY);
    await expect(session.authenticateAdmin(ADMIN_KEY)).rejects.toMatchObject({ code: 'ERR_CARD_AUTHENTICATION_FAILED' });
    await session.authenticateAdmin(OTHER_KEY);
  });

  it('does not believe a card that accepts the cryptogram without proving it holds the key', async () => {
    const { card } = await initialisedCard();
    const inner = new InProcessTransport(card);
    // A card (or relay) that answers the last GENERAL AUTHENTICATE with a cryptogram it did not compute.
    const forging: CardTransport = {
      async transmit(command) {
        const response = await inner.transmit(command);
        if (command[1] === 0x87 && response.length === 46) response[10]! ^= 0x01;
        return response;
      },
    };
    const session = await GidsSession.open(forging);
    await expect(session.authenticateAdmin(ADMIN_KEY)).rejects.toMatchObject({ code: 'ERR_CARD_AUTHENTICATION_FAILED', message: expect.stringContaining('did not prove') });
  });

  it('an admin key of the wrong length is an argument error', async () => {
    const { session } = await initialisedCard();
    await expect(session.authenticateAdmin(Secret.fromHex('0102'))).rejects.toMatchObject({ code: 'ERR_CARD_INVALID_ARGUMENT' });
  });
});

describe('GidsSession offline unblock (challenge, response computed elsewhere)', () => {
  it('blocks the PIN, reads the challenge, answers it with the computed response and sets a new PIN', async () => {
    const { session } = await initialisedCard();
    await blockPin(session);
    const challenge = await session.getUnblockChallenge();
    expect(challenge).toHaveLength(8);
    await session.unblockWithResponse(computeUnblockResponse(ADMIN_KEY, challenge), pin('8642'));
    await session.verifyPin(pin('8642'));
    expect(await session.getPinTriesLeft()).toBe(3);
  });

  it('refuses a wrong response with 6982 and forgets the challenge after the attempt', async () => {
    const { session, transport } = await initialisedCard();
    await blockPin(session);
    const challenge = await session.getUnblockChallenge();
    await expect(session.unblockWithResponse(computeUnblockResponse(OTHER_KEY, challenge), pin('8642'))).rejects.toMatchObject({
      code: 'ERR_CARD_AUTHENTICATION_FAILED',
    });
    expect(transport.lastStatusWord).toBe(0x6982);
    // The right answer comes too late: the challenge was spent by the failed attempt.
    await expect(session.unblockWithResponse(computeUnblockResponse(ADMIN_KEY, challenge), pin('8642'))).rejects.toMatchObject({
      code: 'ERR_CARD_AUTHENTICATION_FAILED',
    });
    expect(transport.lastStatusWord).toBe(0x6985);
    expect(await session.getPinTriesLeft()).toBe(0);
  });

  it('refuses a correct response replayed against a new challenge', async () => {
    const { session, transport } = await initialisedCard();
    await blockPin(session);
    const first = await session.getUnblockChallenge();
    const firstResponse = computeUnblockResponse(ADMIN_KEY, first);
    await session.unblockWithResponse(firstResponse, pin('8642'));
    await blockPin(session);
    const second = await session.getUnblockChallenge();
    expect(second).not.toEqual(first);
    await expect(session.unblockWithResponse(firstResponse, pin('9753'))).rejects.toMatchObject({ code: 'ERR_CARD_AUTHENTICATION_FAILED' });
    expect(transport.lastStatusWord).toBe(0x6982);
    expect(await session.getPinTriesLeft()).toBe(0);
  });

  it('forgets the challenge on card reset and on reselection of the application', async () => {
    const { session, card, transport } = await initialisedCard();
    await blockPin(session);
    const challenge = await session.getUnblockChallenge();
    card.reset();
    await expect(session.unblockWithResponse(computeUnblockResponse(ADMIN_KEY, challenge), pin('8642'))).rejects.toMatchObject({
      code: 'ERR_CARD_AUTHENTICATION_FAILED',
    });
    const again = await session.getUnblockChallenge();
    await GidsSession.open(transport);
    await expect(session.unblockWithResponse(computeUnblockResponse(ADMIN_KEY, again), pin('8642'))).rejects.toMatchObject({
      code: 'ERR_CARD_AUTHENTICATION_FAILED',
    });
    expect(await session.getPinTriesLeft()).toBe(0);
  });

  it('keeps the challenge across other commands on the same connection (the helpdesk call takes time)', async () => {
    const { session } = await initialisedCard();
    await blockPin(session);
    const challenge = await session.getUnblockChallenge();
    expect(await session.getPinTriesLeft()).toBe(0);
    await session.getCardIdentifier();
    await session.unblockWithResponse(computeUnblockResponse(ADMIN_KEY, challenge), pin('8642'));
    await session.verifyPin(pin('8642'));
  });

  it('checks the new PIN and the response length before spending the challenge', async () => {
    const { session } = await initialisedCard();
    await blockPin(session);
    const challenge = await session.getUnblockChallenge();
    const response = computeUnblockResponse(ADMIN_KEY, challenge);
    await expect(session.unblockWithResponse(response, pin('12'))).rejects.toMatchObject({ code: 'ERR_CARD_PIN_FORMAT' });
    await expect(session.unblockWithResponse(response.subarray(0, 7), pin('8642'))).rejects.toMatchObject({ code: 'ERR_CARD_INVALID_ARGUMENT' });
    await session.unblockWithResponse(response, pin('8642'));
  });
});

describe('GidsSession state and APDU counts', () => {
  it('keeps PIN, tries and admin key in the stored state across a reopen', async () => {
    const { session, store } = await initialisedCard();
    await expect(session.verifyPin(pin('9999'))).rejects.toMatchObject({ triesLeft: 2 });
    const reopened = await GidsSession.open(new InProcessTransport(VirtualGidsCard.open(store)));
    expect(await reopened.getPinStatus()).toEqual({ triesLeft: 2, limit: 3 });
    expect(await reopened.getCardIdentifier()).toEqual(CARD_ID);
    await reopened.authenticateAdmin(ADMIN_KEY);
    await reopened.verifyPin(pin('1234'));
  });

  it('sends the documented number of APDUs per operation', async () => {
    const fresh = await blankCard();
    const counts: Record<string, number> = {};
    const measure = async (name: string, session: GidsSession, work: () => Promise<unknown>) => {
      const before = session.apduCount;
      await work();
      counts[name] = session.apduCount - before;
    };
    await measure('initialise', fresh.session, () => fresh.session.initialise({ pin: pin('1234'), adminKey: ADMIN_KEY, cardId: CARD_ID }));
    const session = await GidsSession.open(new InProcessTransport(fresh.card));
    counts.open = session.apduCount;
    await measure('getPinStatus', session, () => session.getPinStatus());
    await measure('verifyPin', session, () => session.verifyPin(pin('1234')));
    await measure('changePin', session, () => session.changePin(pin('1234'), pin('5678')));
    await measure('getCardIdentifier', session, () => session.getCardIdentifier());
    await measure('authenticateAdmin', session, () => session.authenticateAdmin(ADMIN_KEY));
    await measure('authenticateAdminExternal', session, () => session.authenticateAdminExternal(ADMIN_KEY));
    await measure('unblockPin', session, () => session.unblockPin(ADMIN_KEY, pin('1111')));
    let challenge: Uint8Array = new Uint8Array(0);
    await measure('getUnblockChallenge', session, async () => {
      challenge = await session.getUnblockChallenge();
    });
    await measure('unblockWithResponse', session, () => session.unblockWithResponse(computeUnblockResponse(ADMIN_KEY, challenge), pin('2222')));
    await session.authenticateAdmin(ADMIN_KEY);
    await measure('changeAdminKey', session, () => session.changeAdminKey(OTHER_KEY));
    expect(counts).toEqual({
      initialise: 24,
      open: 1,
      getPinStatus: 1,
      verifyPin: 1,
      changePin: 1,
      getCardIdentifier: 2,
      authenticateAdmin: 3,
      authenticateAdminExternal: 3,
      unblockPin: 4,
      getUnblockChallenge: 2,
      unblockWithResponse: 2,
      changeAdminKey: 1,
    });
  });
});

describe('GidsSession against a card that reflects', () => {
  it('refuses a card that echoes the host random, before sending anything secret', async () => {
    const sent: string[] = [];
    // A fake card: answers MSE, echoes the host random, and would reflect the host cryptogram.
    const reflecting: CardTransport = {
      async transmit(command) {
        const hex = Buffer.from(command).toString('hex').toUpperCase();
        sent.push(hex);
        if (hex.startsWith('00A4')) return Uint8Array.of(0x90, 0x00);
        if (hex.startsWith('0022')) return Uint8Array.of(0x90, 0x00);
        if (hex.startsWith('00870000147C128110')) return Uint8Array.from([...Buffer.from('7C128110', 'hex'), ...command.subarray(9, 25), 0x90, 0x00]);
        if (hex.startsWith('008700002C7C2A8228')) return Uint8Array.from([...command.subarray(5, 49), 0x90, 0x00]);
        return Uint8Array.of(0x6d, 0x00);
      },
    };
    const session = await GidsSession.open(reflecting);
    await expect(session.authenticateAdmin(ADMIN_KEY)).rejects.toMatchObject({ code: 'ERR_CARD_AUTHENTICATION_FAILED' });
    expect(sent.some((apdu) => apdu.startsWith('008700002C'))).toBe(false);
  });
});
