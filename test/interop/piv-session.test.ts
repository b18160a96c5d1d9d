// PivSession through the PC/SC transport on a virtual PIV card in pcscd, cross-checked with yubico-piv-tool both ways.
import { createHash, verify, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_MANAGEMENT_KEY_HEX, PIV_ALGORITHM, PIV_SLOT } from '../../src/card/piv/piv-constants.ts';
import { PivSession } from '../../src/card/piv/piv-session.ts';
import { PcscTransport } from '../../src/pcsc/pcsc-transport.ts';
import { Secret } from '../../src/secret.ts';
import { MemoryStateStore } from '../../src/virtual-card/card-state-store.ts';
import { VirtualPivCard } from '../../src/virtual-card/piv/virtual-piv-card.ts';
import { pcscdMissing } from '../support/pcscd-available.ts';
import { runTool } from '../support/run-tool.ts';
import { attachVirtualCard, type AttachedVirtualCard } from '../support/virtual-reader.ts';

const READER = 'Virtual PCD 00 00';
const pin = (text: string) => Secret.fromText(text);
const pivTool = (...args: string[]) => runTool('yubico-piv-tool', ['-r', READER, ...args]);

/** One exclusive PC/SC connection per step, reset on close so no verified PIN outlives it (as tools do). */
async function withSession<T>(work: (session: PivSession) => Promise<T>): Promise<T> {
  const transport = await PcscTransport.connect(READER);
  try {
    return await work(await PivSession.open(transport));
  } finally {
    await transport.close({ reset: true });
  }
}

describe.skipIf(pcscdMissing())('PivSession through PC/SC on a Tessera virtual PIV card', () => {
  let attached: AttachedVirtualCard | undefined;

  beforeAll(async () => {
    attached = await attachVirtualCard(VirtualPivCard.create(new MemoryStateStore(), { serial: 30_000_001 }), { port: 35963 });
  });
  afterAll(async () => {
    await attached?.detach();
  });

  it('opens the application and reads version, serial and both tries counters', async () => {
    await withSession(async (session) => {
      expect(session.version).toEqual({ major: 5, minor: 4, patch: 3 });
      expect(await session.getSerial()).toBe(30_000_001);
      expect(await session.getPinTriesLeft()).toBe(3);
      expect(await session.getPukTriesLeft()).toBe(3);
    });
  });

  it('verifies the PIN, reporting a wrong one with its tries left', async () => {
    await withSession(async (session) => {
      await expect(session.verifyPin(pin('999999'))).rejects.toMatchObject({ code: 'ERR_CARD_PIN_INVALID', triesLeft: 2 });
      await session.verifyPin(pin('123456'));
      expect(await session.getPinTriesLeft()).toBe(3);
    });
  });

  it('changes PIN and PUK; yubico-piv-tool accepts the new values', async () => {
    await withSession(async (session) => {
      await session.changePin(pin('123456'), pin('654321'));
      await session.changePuk(pin('12345678'), pin('87654321'));
    });
    expect((await pivTool('-a', 'verify-pin', '-P', '654321')).code).toBe(0);
    expect((await pivTool('-a', 'change-puk', '-P', '87654321', '-N', '87654321')).code).toBe(0);
  });

  it('sees a PIN blocked by yubico-piv-tool as blocked, and unblocks it with the PUK', async () => {
    for (let attempt = 0; attempt < 3; attempt++) await pivTool('-a', 'verify-pin', '-P', '000000');
    await withSession(async (session) => {
      expect(await session.getPinTriesLeft()).toBe(0);
      await expect(session.verifyPin(pin('654321'))).rejects.toMatchObject({ code: 'ERR_CARD_PIN_BLOCKED' });
      await session.unblockPin(pin('87654321'), pin('112233'));
      expect(await session.getPinTriesLeft()).toBe(3);
    });
    expect((await pivTool('-a', 'verify-pin', '-P', '112233')).code).toBe(0);
  });

  it('a PIN blocked by PivSession is blocked for yubico-piv-tool, which unblocks it', async () => {
    await withSession(async (session) => {
      await expect(session.verifyPin(pin('000000'))).rejects.toMatchObject({ triesLeft: 2 });
      await expect(session.verifyPin(pin('000000'))).rejects.toMatchObject({ triesLeft: 1 });
      await expect(session.verifyPin(pin('000000'))).rejects.toMatchObject({ code: expect.stringMatching(/ERR_CARD_PIN_(BLOCKED|INVALID)/) });
      await expect(session.verifyPin(pin('112233'))).rejects.toMatchObject({ code: 'ERR_CARD_PIN_BLOCKED' });
    });
    const status = await pivTool('-a', 'status');
    expect(status.output).toMatch(/PIN tries left:\s*0/);
    const verifyBlocked = await pivTool('-a', 'verify-pin', '-P', '112233');
    expect(verifyBlocked.code).not.toBe(0);
    expect(verifyBlocked.output).toMatch(/blocked/i);
    expect((await pivTool('-a', 'unblock-pin', '-P', '87654321', '-N', '123456')).code).toBe(0);
    await withSession(async (session) => {
      await session.verifyPin(pin('123456'));
    });
  });

  it('sets a new 3DES management key that yubico-piv-tool then uses; the old key is refused', async () => {
    const newKey = '0123456789ABCDEFFEDCBA987654321089ABCDEF01234567';
    await withSession(async (session) => {
      await session.authenticate(PIV_ALGORITHM.TDES, Secret.fromHex(DEFAULT_MANAGEMENT_KEY_HEX));
      await session.setManagementKey(PIV_ALGORITHM.TDES, Secret.fromHex(newKey));
    });
    await withSession(async (session) => {
      await expect(session.authenticate(PIV_ALGORITHM.TDES, Secret.fromHex(DEFAULT_MANAGEMENT_KEY_HEX))).rejects.toMatchObject({ code: 'ERR_CARD_AUTHENTICATION_FAILED' });
    });
    const retries = await pivTool(`--key=${newKey}`, '-a', 'verify-pin', '-P', '123456', '-a', 'pin-retries', '--pin-retries', '4', '--puk-retries', '4');
    expect(retries.code, retries.output).toBe(0);
    await withSession(async (session) => {
      expect(await session.getPinTriesLeft()).toBe(4);
      expect(await session.getPukTriesLeft()).toBe(4);
      // SET PIN RETRIES back to 3/3 (PIN and PUK become the defaults), then the default management key again.
      await session.authenticate(PIV_ALGORITHM.TDES, Secret.fromHex(newKey));
      await session.verifyPin(pin('123456'));
      await session.setPinRetries(3, 3);
      await session.setManagementKey(PIV_ALGORITHM.TDES, Secret.fromHex(DEFAULT_MANAGEMENT_KEY_HEX));
      expect(await session.getPinTriesLeft()).toBe(3);
    });
    expect((await pivTool('-a', 'verify-pin', '-P', '123456')).code).toBe(0);
    expect((await pivTool('-a', 'change-puk', '-P', '12345678', '-N', '12345678')).code).toBe(0);
  });

  it('signs with a key yubico-piv-tool generated, and a certificate ykman made is read back', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tessera-piv-session-'));
    const publicKeyFile = join(dir, 'pub.pem');
    expect((await pivTool('-a', 'generate', '-s', '9a', '-A', 'ECCP256', '-o', publicKeyFile)).code).toBe(0);
    const certify = await runTool('ykman', ['--reader', READER, 'piv', 'certificates', 'generate', '-s', 'CN=Tessera interop', '-P', '123456', '-m', DEFAULT_MANAGEMENT_KEY_HEX, '9a', publicKeyFile]);
    expect(certify.code, certify.output).toBe(0);
    const message = Buffer.from('signed by PivSession through pcscd');
    await withSession(async (session) => {
      await session.verifyPin(pin('123456'));
      const signature = await session.sign(PIV_SLOT.AUTHENTICATION, PIV_ALGORITHM.ECC_P256, createHash('sha256').update(message).digest());
      expect(verify('sha256', message, { key: readFileSync(publicKeyFile, 'utf8'), dsaEncoding: 'der' }, signature)).toBe(true);
      const der = await session.getCertificate(PIV_SLOT.AUTHENTICATION);
      expect(new X509Certificate(Buffer.from(der!)).subject).toBe('CN=Tessera interop');
    });
  });

  it('generates an RSA 2048 key that yubico-piv-tool then uses to sign', async () => {
    const publicKey = await withSession(async (session) => {
      await session.authenticate(PIV_ALGORITHM.TDES, Secret.fromHex(DEFAULT_MANAGEMENT_KEY_HEX));
      return session.generateKey(PIV_SLOT.SIGNATURE, PIV_ALGORITHM.RSA_2048);
    });
    const dir = mkdtempSync(join(tmpdir(), 'tessera-piv-session-'));
    const input = join(dir, 'input.txt');
    const output = join(dir, 'sig.bin');
    await import('node:fs').then((fs) => fs.writeFileSync(input, 'signed by yubico-piv-tool\n'));
    const sign = await pivTool('-a', 'verify-pin', '-P', '123456', '--sign', '-s', '9c', '-A', 'RSA2048', '-H', 'SHA256', '-i', input, '-o', output);
    expect(sign.code, sign.output).toBe(0);
    expect(verify('sha256', readFileSync(input), publicKey, readFileSync(output))).toBe(true);
  });
});
