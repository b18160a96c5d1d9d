// APDU-level behaviour of the virtual GIDS card: the bytes OpenSC and gids-tool send, initialisation mode, status words, state files.
import { describe, expect, it } from 'vitest';
import { adminKeyDecrypt, adminKeyEncrypt } from '../../card/gids/gids-admin-crypto.ts';
import { GidsSession } from '../../card/gids/gids-session.ts';
import { Secret } from '../../secret.ts';
import { MemoryStateStore, StateFileError } from '../card-state-store.ts';
import { InProcessTransport } from '../in-process-transport.ts';
import { VIRTUAL_GIDS_ATR, VirtualGidsCard } from './virtual-gids-card.ts';

const ADMIN_KEY_HEX = '0123456789abcdeffedcba987654321089abcdef01234567';
const ADMIN_KEY = Buffer.from(ADMIN_KEY_HEX, 'hex');

const bytes = (text: string) => Uint8Array.from(Buffer.from(text.replace(/\s+/g, ''), 'hex'));
const hexOf = (data: Uint8Array) => Buffer.from(data).toString('hex').toUpperCase();

/** Sends one APDU given in hex and returns the answer as `DATA SW` in upper-case hex, SW last. */
function send(card: VirtualGidsCard, apdu: string): { data: string; sw: string } {
  const response = card.process(bytes(apdu));
  return { data: hexOf(response.subarray(0, -2)), sw: hexOf(response.subarray(-2)) };
}

const sw = (card: VirtualGidsCard, apdu: string) => send(card, apdu).sw;

/** The APDUs OpenSC's gids_initialize sends (admin key, PIN 1234, card id 00..0F), as they appear in a pcscd trace. */
function openscInitialisation(): string[] {
  const doFile = (fid: string, write: string, read: string) => `00E00000 0E 620C 820139 8302${fid} 8C0303${write}${read}`;
  const masterRecords = [
    ['6d736370', '', '00000000', '00a00000'],
    ['', '636172646964', '20df0000', '12a00000'],
    ['', '63617264617070', '21df0000', '10a00000'],
    ['', '636172646366', '22df0000', '10a00000'],
    ['6d736370', '636d617066696c65', '23df0000', '10a00000'],
  ];
  const pad = (hex: string, length: number) => hex.padEnd(length * 2, '0');
  const masterFile = `01${masterRecords.map(([dir, name, tag, file]) => `${pad(dir!, 9)}${pad(name!, 9)}0000${tag}${file}`).join('')}`;
  return [
    '00A40400 09 A00000039742544659 00',
    '00CB A000 04 5C02DF1F 00',
    '0024 0180 04 31323334',
    ...[doFile('A000', '30', '00'), doFile('A010', '30', '00'), doFile('A011', '30', 'FF'), doFile('A012', '20', '00'), doFile('A013', '30', '30'), doFile('A014', '20', '20')].flatMap((create) => [
      create,
      '00440000',
    ]),
    '00E00000 1C 621A 820118 8302B080 8C04870020FF A50B A409 800102 830180 9501C0',
    '00440000',
    `00DB3FFF 26 7024 840180 A51F 8718${ADMIN_KEY_HEX} 8803B073DC`,
    `00DBA000 91 DF1F818D ${masterFile}`,
    '00DBA010 0B DF2108 6D73637000000000',
    '00DBA010 09 DF2206 000000000000',
    '00DBA010 03 DF2300',
    '00DBA012 13 DF2010 000102030405060708090A0B0C0D0E0F',
    '00A4000C 02 3FFF',
    '00440000',
  ];
}

function initialisedCard(store = new MemoryStateStore()): VirtualGidsCard {
  const card = VirtualGidsCard.createBlank(store, { serial: 40_000_003 });
  const answers = openscInitialisation().map((apdu) => sw(card, apdu));
  // The only refusal is the one gids-tool wants: no master file on a new card.
  expect(answers).toEqual(answers.map((_, i) => (i === 1 ? '6A82' : '9000')));
  return card;
}

describe('VirtualGidsCard identity', () => {
  it('has a well-formed T=1 ATR whose historical bytes say "Tessera GIDS"', () => {
    expect(hexOf(VIRTUAL_GIDS_ATR)).toBe('3B8C800154657373657261204749445373');
    expect(VIRTUAL_GIDS_ATR.subarray(1).reduce((x, b) => x ^ b, 0)).toBe(0);
  });

  it('answers SELECT of the GIDS AID with the FCI OpenSC looks for, and 6A82 to other applications', () => {
    const card = VirtualGidsCard.createBlank(new MemoryStateStore());
    expect(send(card, '00A4040009A0000003974254465900')).toEqual({ data: '61124F0BA0000003974254465902017303400 1C0'.replace(' ', ''), sw: '9000' });
    expect(sw(card, '00A404000BA000000397425446590201')).toBe('9000');
    expect(sw(card, '00A4040C09A00000039742544659')).toBe('9000');
    expect(sw(card, '00A404000BA000000308000010000100')).toBe('6A82');
    expect(sw(card, '00A4040005A000000397')).toBe('6A82');
  });
});

describe('VirtualGidsCard initialisation mode', () => {
  it('a blank card has no master file and refuses GENERAL AUTHENTICATE and RESET RETRY COUNTER with 6986', () => {
    const card = VirtualGidsCard.createBlank(new MemoryStateStore());
    expect(sw(card, '00CBA000045C02DF1F00')).toBe('6A82');
    expect(sw(card, '00870000047C02810000')).toBe('6986');
    expect(sw(card, '002C02800431323334')).toBe('6986');
    expect(send(card, '00CB3FFF045C027F7100')).toEqual({ data: '7F71069701039301 03'.replace(' ', ''), sw: '9000' });
    expect(card.isInitialised).toBe(false);
  });

  it('takes the exact APDU sequence of gids-tool -X and leaves initialisation mode', () => {
    const card = initialisedCard();
    expect(card.isInitialised).toBe(true);
    expect(send(card, '00CBA012045C02DF2000')).toEqual({ data: 'DF2010000102030405060708090A0B0C0D0E0F', sw: '9000' });
    expect(send(card, '00CBA010045C02DF2300')).toEqual({ data: 'DF2300', sw: '9000' });
    // Operational now: writing needs the PIN, and the PIN is checked.
    expect(sw(card, '00DBA010 09 DF2206 010000000000'.replace(/ /g, ''))).toBe('6982');
    expect(sw(card, '002000800431323334')).toBe('9000');
    expect(sw(card, '00DBA010 09 DF2206 010000000000'.replace(/ /g, ''))).toBe('9000');
    // The card id is admin-write only.
    expect(sw(card, '00DBA012 05 DF2002 AABB'.replace(/ /g, ''))).toBe('6982');
  });

  it('refuses EF operations before the EF is activated (6985)', () => {
    const card = VirtualGidsCard.createBlank(new MemoryStateStore());
    expect(sw(card, '00E000000E620C820139 8302A000 8C03033000'.replace(/ /g, ''))).toBe('9000');
    expect(sw(card, '00DBA00003DF1F00')).toBe('6985');
    expect(sw(card, '00440000')).toBe('9000');
    expect(sw(card, '00DBA00003DF1F00')).toBe('9000');
  });
});

describe('VirtualGidsCard admin key authentication', () => {
  it('external authentication: 8-byte challenge, 3DES answer; a wrong answer is 6982 and spends the challenge', () => {
    const card = initialisedCard();
    expect(sw(card, '00 22 C1 A4 03 830180'.replace(/ /g, ''))).toBe('9000');
    const first = send(card, '00870000047C02810000');
    expect(first.sw).toBe('9000');
    expect(first.data).toMatch(/^7C0A8108[0-9A-F]{16}$/);
    expect(sw(card, '008700000C7C0A82080000000000000000')).toBe('6982');
    const challenge = bytes(first.data.slice(8));
    const right = hexOf(adminKeyEncrypt(ADMIN_KEY, challenge));
    // The right answer after a wrong one: no challenge is pending any more.
    expect(sw(card, `008700000C7C0A8208${right}`)).toBe('6985');
    const second = send(card, '00870000047C02810000');
    const answer = hexOf(adminKeyEncrypt(ADMIN_KEY, bytes(second.data.slice(8))));
    expect(sw(card, `008700000C7C0A8208${answer}`)).toBe('9000');
    expect(sw(card, '002C02800435363738')).toBe('9000');
    // One admin authentication buys one unblock.
    expect(sw(card, '002C02800435363738')).toBe('6982');
    expect(sw(card, '002000800435363738')).toBe('9000');
  });

  it('mutual authentication as OpenSC performs it, with the card proving it holds the key', () => {
    const card = initialisedCard();
    expect(sw(card, '0022C1A403830180')).toBe('9000');
    const r1 = '000102030405060708090A0B0C0D0E0F';
    const first = send(card, `00870000147C128110${r1}00`);
    expect(first.data).toMatch(/^7C128110[0-9A-F]{32}$/);
    const r2 = first.data.slice(8);
    const z1 = '1122334455667780';
    const cryptogram = hexOf(adminKeyEncrypt(ADMIN_KEY, bytes(r2 + r1 + z1)));
    const second = send(card, `008700002C7C2A8228${cryptogram}00`);
    expect(second.sw).toBe('9000');
    expect(second.data).toMatch(/^7C2A8228[0-9A-F]{80}$/);
    const proof = hexOf(adminKeyDecrypt(ADMIN_KEY, bytes(second.data.slice(8))));
    expect(proof.slice(0, 64)).toBe(r1 + r2);
    expect(proof.slice(-2)).toBe('80');
    // Authenticated: the admin-only card id object is writable now.
    expect(sw(card, '00DBA01213DF2010FFEEDDCCBBAA99887766554433221100')).toBe('9000');
  });

  it('refuses GENERAL AUTHENTICATE without MANAGE SECURITY ENVIRONMENT and forgets the challenge on reset and reselect', () => {
    const card = initialisedCard();
    expect(sw(card, '00870000047C02810000')).toBe('6985');
    for (const forget of [() => card.reset(), () => card.powerOff(), () => send(card, '00A4040009A00000039742544659')]) {
      expect(sw(card, '0022C1A403830180')).toBe('9000');
      const challenge = send(card, '00870000047C02810000').data.slice(8);
      forget();
      expect(sw(card, '0022C1A403830180')).toBe('9000');
      expect(sw(card, `008700000C7C0A8208${hexOf(adminKeyEncrypt(ADMIN_KEY, bytes(challenge)))}`)).toBe('6985');
    }
  });

  it('changes the admin key by PUT DATA 3F FF only after admin authentication', () => {
    const card = initialisedCard();
    const newKey = '1122334455667788aabbccddeeff00119988776655443322';
    const put = `00DB3FFF267024840180A51F8718${newKey}8803B073DC`;
    expect(sw(card, put)).toBe('6982');
    expect(sw(card, '0022C1A403830180')).toBe('9000');
    const challenge = send(card, '00870000047C02810000').data.slice(8);
    expect(sw(card, `008700000C7C0A8208${hexOf(adminKeyEncrypt(ADMIN_KEY, bytes(challenge)))}`)).toBe('9000');
    expect(sw(card, put)).toBe('9000');
    const next = send(card, '00870000047C02810000').data.slice(8);
    expect(sw(card, `008700000C7C0A8208${hexOf(adminKeyEncrypt(ADMIN_KEY, bytes(next)))}`)).toBe('6982');
  });
});

describe('VirtualGidsCard files', () => {
  it('deletes the admin key file only with the admin key once operational, never with the PIN alone', () => {
    const card = initialisedCard();
    expect(sw(card, '00A4000C02B080')).toBe('9000');
    expect(sw(card, '00E40000')).toBe('6982');
    expect(sw(card, '002000800431323334')).toBe('9000');
    expect(sw(card, '00E40000')).toBe('6982');
    expect(sw(card, '0022C1A403830180')).toBe('9000');
    const challenge = bytes(send(card, '008700000 47C028100'.replace(' ', '')).data).subarray(4);
    expect(sw(card, `008700000C7C0A8208${hexOf(adminKeyEncrypt(ADMIN_KEY, challenge))}`)).toBe('9000');
    expect(sw(card, '00A4000C02B080')).toBe('9000');
    expect(sw(card, '00E40000')).toBe('9000');
    expect(sw(card, '0022C1A403830180')).toBe('6A80');
    expect(sw(card, '00E40000')).toBe('6986');
  });

  it('grants admin rights only through the admin key: a PIN holder cannot plant a key file of their own', () => {
    const card = initialisedCard();
    expect(sw(card, '002000800431323334')).toBe('9000');
    // CREATE FILE of a key EF B001 with open access, as the PIN holder.
    expect(sw(card, '00E00000166214820118830 2B001A50BA4098001028301019501C0'.replace(' ', ''))).toBe('6982');
  });

  it('refuses RSA and wrapped key import with 6A81 and a key of the wrong size with 6A80', () => {
    const card = VirtualGidsCard.createBlank(new MemoryStateStore());
    expect(sw(card, '00E000001C621A8201188302B0808C04870020FFA50BA409800102830180 9501C0'.replace(' ', ''))).toBe('9000');
    expect(sw(card, '00440000')).toBe('9000');
    expect(sw(card, `00DB3FFF 29 7027 840180 A522 830102 8718${ADMIN_KEY_HEX} 8803B073DC`.replace(/ /g, ''))).toBe('6A81');
    expect(sw(card, `00DB3FFF 29 7027 840180 A522 840101 8718${ADMIN_KEY_HEX} 8803B073DC`.replace(/ /g, ''))).toBe('6A81');
    expect(sw(card, '00DB3FFF 0E 700C 840180 A508 8701AA 8803B073DC'.replace(/ /g, ''))).toBe('6A80');
    expect(sw(card, `00DB3FFF 26 7024 840180 A51F 8718${ADMIN_KEY_HEX} 8803B073DC`.replace(/ /g, ''))).toBe('9000');
  });
});

describe('VirtualGidsCard PIN rules', () => {
  it('PIN 4..16 characters, try limit 3, blocked is 6983, wrong lengths cost nothing', () => {
    const card = initialisedCard();
    expect(sw(card, '0020008003313233')).toBe('63C3');
    expect(sw(card, '0020008004 39393939'.replace(' ', ''))).toBe('63C2');
    expect(sw(card, '00200080')).toBe('63C2');
    expect(sw(card, '0020008004 39393939'.replace(' ', ''))).toBe('63C1');
    expect(sw(card, '0020008004 39393939'.replace(' ', ''))).toBe('63C0');
    expect(sw(card, '002000800431323334')).toBe('6983');
    expect(send(card, '00CB3FFF045C027F7100').data).toBe('7F7106970100930103');
  });

  it('CHANGE REFERENCE DATA splits old‖new at the current PIN length and checks the new length', () => {
    const card = initialisedCard();
    expect(sw(card, '0024008008 31323334 35363738'.replace(/ /g, ''))).toBe('9000');
    expect(sw(card, '002000800435363738')).toBe('9000');
    // Shorter than two minimal PINs: refused without spending a try.
    expect(sw(card, '0024008007 35363738 313233'.replace(/ /g, ''))).toBe('63C3');
    expect(sw(card, '002400801535363738 3132333435363738393031323334353637'.replace(/ /g, ''))).toBe('6700');
    expect(sw(card, '0024018003 313233'.replace(/ /g, ''))).toBe('6700');
    expect(sw(card, '0024018005 3132333435'.replace(/ /g, ''))).toBe('9000');
    expect(sw(card, '00200080053132333435')).toBe('9000');
  });

  it('VERIFY P2 82 forgets PIN and admin authentication', () => {
    const card = initialisedCard();
    expect(sw(card, '002000800431323334')).toBe('9000');
    expect(sw(card, '00200080')).toBe('9000');
    expect(sw(card, '00200082')).toBe('9000');
    expect(sw(card, '00200080')).toBe('63C3');
  });
});

describe('VirtualGidsCard malformed APDUs', () => {
  it('answers what a card would and changes nothing', () => {
    const store = new MemoryStateStore();
    const card = initialisedCard(store);
    const before = store.load();
    expect(sw(card, '00')).toBe('6700');
    expect(sw(card, '0020008005313233')).toBe('6700');
    expect(sw(card, '80CB3FFF045C027F71')).toBe('6E00');
    expect(sw(card, '00FF0000')).toBe('6D00');
    expect(sw(card, '00A40900023FFF')).toBe('6A86');
    expect(sw(card, '00CB3FFF045C027F55')).toBe('6A80');
    expect(sw(card, '00CB3FFF045C027F73')).toBe('6A88');
    expect(sw(card, '00DBA01003DF2305')).toBe('6982');
    expect(sw(card, '002000800431323334')).toBe('9000');
    expect(sw(card, '00DBA01003DF2305')).toBe('6A80');
    expect(sw(card, '002C0380043132333400')).toBe('6A86');
    expect(sw(card, '00870100047C028100')).toBe('6A86');
    expect(sw(card, '00E00000056203830199')).toBe('6A80');
    expect(sw(card, '00CBB123045C02DF1F')).toBe('6A82');
    expect(store.load()).toBe(before);
  });
});

describe('VirtualGidsCard state', () => {
  it('round-trips through its store, with the PIN never written in clear', async () => {
    const store = new MemoryStateStore();
    const card = initialisedCard(store);
    expect(sw(card, '002000800439393939')).toBe('63C2');
    const text = store.load()!;
    expect(text).toContain('"format": "tessera-virtual-gids"');
    expect(text).not.toContain('31323334');
    const reopened = VirtualGidsCard.open(store);
    expect(reopened.serial).toBe(40_000_003);
    const session = await GidsSession.open(new InProcessTransport(reopened));
    expect(await session.getPinStatus()).toEqual({ triesLeft: 2, limit: 3 });
    await session.verifyPin(Secret.fromText('1234'));
    await session.authenticateAdmin(Secret.fromHex(ADMIN_KEY_HEX));
  });

  it('refuses a missing or corrupt state with a StateFileError', () => {
    expect(() => VirtualGidsCard.open(new MemoryStateStore())).toThrow(expect.objectContaining({ code: 'ERR_STATE_FILE_MISSING' }));
    const store = new MemoryStateStore();
    initialisedCard(store);
    const text = store.load()!;
    const corruptions = [
      text.slice(0, text.length / 2),
      text.replace('"triesLeft": 3', '"triesLeft": 9'),
      text.replace('"lifeCycle": "operational"', '"lifeCycle": "sleeping"'),
      text.replace('"format": "tessera-virtual-gids"', '"format": "tessera-virtual-piv"'),
      '[]',
    ];
    for (const corrupt of corruptions) {
      let error: unknown;
      try {
        VirtualGidsCard.open(new MemoryStateStore(corrupt));
      } catch (caught) {
        error = caught;
      }
      expect(error).toBeInstanceOf(StateFileError);
      expect(error).toMatchObject({ code: 'ERR_STATE_FILE_CORRUPT' });
      expect((error as Error).message).not.toContain('\n');
    }
  });

  it('answers 6581 to everything once its store cannot save, so failed writes never give free PIN tries', () => {
    const store = new MemoryStateStore();
    const card = initialisedCard(store);
    const save = store.save.bind(store);
    store.save = () => {
      throw new StateFileError('ERR_STATE_FILE_IO', 'disk full');
    };
    expect(sw(card, '002000800439393939')).toBe('6581');
    expect(sw(card, '002000800431323334')).toBe('6581');
    expect(sw(card, '00CB3FFF045C027F7100')).toBe('6581');
    store.save = save;
    // Opened again, the card has its last stored state.
    const reopened = VirtualGidsCard.open(store);
    expect(send(reopened, '00CB3FFF045C027F7100').data).toBe('7F7106970103930103');
  });
});
