// A Tessera virtual GIDS card on pcscd's `Virtual PCD 00 01`, driven by OpenSC (opensc-tool, gids-tool, pkcs15-tool) and by GidsSession over PC/SC.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { computeUnblockResponse } from '../../src/card/challenge-response.ts';
import { GIDS_OBJECT } from '../../src/card/gids/gids-constants.ts';
import { encodeMasterFile, INITIAL_MASTER_FILE_RECORDS } from '../../src/card/gids/gids-master-file.ts';
import { GidsSession } from '../../src/card/gids/gids-session.ts';
import { CardInUseError } from '../../src/pcsc/pcsc-errors.ts';
import { PcscTransport } from '../../src/pcsc/pcsc-transport.ts';
import { Secret } from '../../src/secret.ts';
import { MemoryStateStore } from '../../src/virtual-card/card-state-store.ts';
import { VirtualGidsCard } from '../../src/virtual-card/gids/virtual-gids-card.ts';
import { pcscdMissing } from '../support/pcscd-available.ts';
import { runTool } from '../support/run-tool.ts';
import { attachVirtualCard, type AttachedVirtualCard } from '../support/virtual-reader.ts';

const READER = 'Virtual PCD 00 01';
const ADMIN_KEY = '0123456789ABCDEFFEDCBA987654321089ABCDEF01234567';
const NEW_ADMIN_KEY = '1122334455667788AABBCCDDEEFF00119988776655443322';
const CARD_ID = '00112233445566778899AABBCCDDEEFF';

const gidsTool = (...args: string[]) => runTool('gids-tool', ['--reader', READER, ...args]);
const pkcs15 = (...args: string[]) => runTool('pkcs15-tool', ['--reader', READER, ...args]);
const pin = (text: string) => Secret.fromText(text);

/** One exclusive PC/SC connection, reset on close so no authentication outlives it (as the tools' own connections). */
async function withSession<T>(work: (session: GidsSession) => Promise<T>): Promise<T> {
  const transport = await connectWhenFree();
  try {
    return await work(await GidsSession.open(transport));
  } finally {
    await transport.close({ reset: true });
  }
}

/** pcscd may still be releasing the previous tool's connection for a moment after the tool exits. */
async function connectWhenFree(): Promise<PcscTransport> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await PcscTransport.connect(READER);
    } catch (error) {
      if (!(error instanceof CardInUseError) || attempt === 50) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

async function blockPin(): Promise<void> {
  await withSession(async (session) => {
    for (let i = 0; i < 3; i++) await session.verifyPin(pin('0000')).catch(() => undefined);
    expect(await session.getPinTriesLeft()).toBe(0);
  });
}

describe.skipIf(pcscdMissing())('OpenSC tools and GidsSession against a Tessera virtual GIDS card', () => {
  let attached: AttachedVirtualCard | undefined;

  beforeAll(async () => {
    attached = await attachVirtualCard(VirtualGidsCard.createBlank(new MemoryStateStore(), { serial: 40_000_002 }), { port: 35964 });
  });
  afterAll(async () => {
    await attached?.detach();
  });

  it('opensc-tool names the card "GIDS Smart Card"', async () => {
    const result = await runTool('opensc-tool', ['--reader', READER, '--name']);
    expect(result.code, result.output).toBe(0);
    expect(result.stdout).toContain('GIDS Smart Card');
  });

  it('gids-tool -X initialises the blank card with admin key, PIN and serial number', async () => {
    await withSession(async (session) => expect(await session.isInitialised()).toBe(false));
    const result = await gidsTool('-X', '--admin-key', ADMIN_KEY, '--pin', '1234', '--serial-number', CARD_ID);
    expect(result.code, result.output).toBe(0);
    expect(result.output).not.toMatch(/failed|error/i);
    await withSession(async (session) => {
      expect(await session.isInitialised()).toBe(true);
      expect(await session.getSerialNumber()).toBe(CARD_ID);
      // Tessera's own initialisation writes the same master file as gids-tool.
      expect(await session.getDataObject(GIDS_OBJECT.MASTER_FILE.file, GIDS_OBJECT.MASTER_FILE.tag)).toEqual(encodeMasterFile(INITIAL_MASTER_FILE_RECORDS));
      expect(await session.getPinStatus()).toEqual({ triesLeft: 3, limit: 3 });
      await session.verifyPin(pin('1234'));
      await session.authenticateAdmin(Secret.fromHex(ADMIN_KEY));
    });
  });

  it('pkcs15-tool --verify-pin accepts the PIN and refuses a wrong one', async () => {
    const good = await pkcs15('--verify-pin', '--pin', '1234');
    expect(good.code, good.output).toBe(0);
    const bad = await pkcs15('--verify-pin', '--pin', '9999');
    expect(bad.code, bad.output).not.toBe(0);
    await withSession(async (session) => expect(await session.getPinTriesLeft()).toBe(2));
    expect((await pkcs15('--verify-pin', '--pin', '1234')).code).toBe(0);
    await withSession(async (session) => expect(await session.getPinTriesLeft()).toBe(3));
  });

  it('pkcs15-tool lists the user PIN with its tries and changes it; pkcs11-tool lists the token', async () => {
    const pins = await pkcs15('--list-pins');
    expect(pins.code, pins.output).toBe(0);
    expect(pins.stdout).toContain('UserPIN');
    expect(pins.stdout).toMatch(/Tries left\s*:\s*3/);
    const change = await pkcs15('--change-pin', '--pin', '1234', '--new-pin', '123456');
    expect(change.code, change.output).toBe(0);
    await withSession((session) => session.verifyPin(pin('123456')));
    expect((await pkcs15('--change-pin', '--pin', '123456', '--new-pin', '1234')).code).toBe(0);
    const slots = await runTool('pkcs11-tool', ['--module', '/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so', '--list-slots']);
    expect(slots.code, slots.output).toBe(0);
    expect(slots.stdout).toContain('GIDS card');
    // PKCS#11's 16-character serial field keeps the card identifier's last 8 bytes.
    expect(slots.stdout).toMatch(new RegExp(`serial num\\s*:\\s*${CARD_ID.slice(16)}`, 'i'));
  });

  it('gids-tool -U unblocks a blocked PIN with the admin key', async () => {
    await blockPin();
    const result = await gidsTool('-U', '--admin-key', ADMIN_KEY, '--pin', '5678');
    expect(result.code, result.output).toBe(0);
    expect(result.output).toContain('Unblock PIN done successfully');
    expect((await pkcs15('--verify-pin', '--pin', '5678')).code).toBe(0);
    await withSession(async (session) => expect(await session.getPinTriesLeft()).toBe(3));
  });

  it('gids-tool -C changes the admin key; the old key is refused afterwards, the new one works', async () => {
    const change = await gidsTool('-C', '--admin-key', ADMIN_KEY, '--new-admin-key', NEW_ADMIN_KEY);
    expect(change.code, change.output).toBe(0);
    const old = await gidsTool('-U', '--admin-key', ADMIN_KEY, '--pin', '1111');
    expect(old.code, old.output).not.toBe(0);
    expect(old.output).toContain('SC_CARDCTL_GIDS_AUTHENTICATE_ADMIN');
    await withSession(async (session) => {
      await expect(session.authenticateAdmin(Secret.fromHex(ADMIN_KEY))).rejects.toMatchObject({ code: 'ERR_CARD_AUTHENTICATION_FAILED' });
      await session.authenticateAdmin(Secret.fromHex(NEW_ADMIN_KEY));
    });
    const fresh = await gidsTool('-U', '--admin-key', NEW_ADMIN_KEY, '--pin', '2468');
    expect(fresh.code, fresh.output).toBe(0);
    expect((await pkcs15('--verify-pin', '--pin', '2468')).code).toBe(0);
  });

  it('GidsSession over PC/SC: offline unblock with a computed response; wrong and replayed responses are refused', async () => {
    const adminKey = Secret.fromHex(NEW_ADMIN_KEY);
    await blockPin();
    await withSession(async (session) => {
      const challenge = await session.getUnblockChallenge();
      await expect(session.unblockWithResponse(computeUnblockResponse(Secret.fromHex(ADMIN_KEY), challenge), pin('3579'))).rejects.toMatchObject({
        code: 'ERR_CARD_AUTHENTICATION_FAILED',
      });
      expect(await session.getPinTriesLeft()).toBe(0);
      const fresh = await session.getUnblockChallenge();
      const response = computeUnblockResponse(adminKey, fresh);
      await session.unblockWithResponse(response, pin('3579'));
      await session.verifyPin(pin('3579'));
      // The same response against a new challenge is worth nothing.
      for (let i = 0; i < 3; i++) await session.verifyPin(pin('0000')).catch(() => undefined);
      await session.getUnblockChallenge();
      await expect(session.unblockWithResponse(response, pin('1357'))).rejects.toMatchObject({ code: 'ERR_CARD_AUTHENTICATION_FAILED' });
      expect(await session.getPinTriesLeft()).toBe(0);
      await session.unblockPin(adminKey, pin('1357'));
    });
    expect((await pkcs15('--verify-pin', '--pin', '1357')).code).toBe(0);
  });

  it('a PIN changed by GidsSession is the PIN pkcs15-tool verifies', async () => {
    await withSession((session) => session.changePin(pin('1357'), pin('24682468')));
    expect((await pkcs15('--verify-pin', '--pin', '24682468')).code).toBe(0);
    expect((await pkcs15('--verify-pin', '--pin', '1357')).code).not.toBe(0);
    await withSession(async (session) => {
      expect(await session.getPinTriesLeft()).toBe(2);
      await session.verifyPin(pin('24682468'));
    });
  });
});
