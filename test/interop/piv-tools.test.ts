// A Tessera virtual PIV card on pcscd's `Virtual PCD 00 00`, driven by yubico-piv-tool, ykman and OpenSC as real tools.
import { createPublicKey, verify, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryStateStore } from '../../src/virtual-card/card-state-store.ts';
import { VirtualPivCard } from '../../src/virtual-card/piv/virtual-piv-card.ts';
import { pcscdMissing } from '../support/pcscd-available.ts';
import { runTool } from '../support/run-tool.ts';
import { attachVirtualCard, type AttachedVirtualCard } from '../support/virtual-reader.ts';

const READER = 'Virtual PCD 00 00';
const DEFAULT_PIN = '123456';
const DEFAULT_PUK = '12345678';
const DEFAULT_MGM_KEY = '010203040506070801020304050607080102030405060708';
const OPENSC_PKCS11 = '/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so';

const pivTool = (...args: string[]) => runTool('yubico-piv-tool', ['-r', READER, ...args]);
const ykman = (...args: string[]) => runTool('ykman', ['--reader', READER, ...args]);
const pkcs15 = (...args: string[]) => runTool('pkcs15-tool', ['--reader', READER, ...args]);
const pkcs11 = (...args: string[]) => runTool('pkcs11-tool', ['--module', OPENSC_PKCS11, ...args]);

/** Tries left, as `yubico-piv-tool -a status` reports them. */
async function pinTriesLeft(): Promise<number> {
  const status = await pivTool('-a', 'status');
  const match = /PIN tries left:\s*(\d+)/.exec(status.output);
  if (!match) throw new TypeError(`no PIN tries in: ${status.output}`);
  return Number(match[1]);
}

/** Each group gets a factory-fresh card, attached for the group and removed after it. */
function withFreshCard(serial: number): { card: () => VirtualPivCard } {
  let attached: AttachedVirtualCard | undefined;
  let card: VirtualPivCard | undefined;
  beforeAll(async () => {
    card = VirtualPivCard.create(new MemoryStateStore(), { serial });
    attached = await attachVirtualCard(card, { port: 35963 });
  });
  afterAll(async () => {
    await attached?.detach();
  });
  return { card: () => card! };
}

describe.skipIf(pcscdMissing())('yubico-piv-tool against a Tessera virtual PIV card', () => {
  withFreshCard(20_000_001);

  it('version and status show firmware 5.4.3, the serial and 3 PIN tries', async () => {
    const version = await pivTool('-a', 'version');
    expect(version.code).toBe(0);
    expect(version.output).toContain('5.4.3');
    const status = await pivTool('-a', 'status');
    expect(status.code).toBe(0);
    expect(status.output).toMatch(/Serial Number:\s*20000001/);
    expect(status.output).toMatch(/PIN tries left:\s*3/);
  });

  it('verify-pin refuses a wrong PIN with the tries left and accepts the right one', async () => {
    const wrong = await pivTool('-a', 'verify-pin', '-P', '999999');
    expect(wrong.code).not.toBe(0);
    expect(wrong.output).toContain('2 tries left');
    const right = await pivTool('-a', 'verify-pin', '-P', DEFAULT_PIN);
    expect(right.code).toBe(0);
    expect(right.output).toContain('Successfully verified PIN');
    expect(await pinTriesLeft()).toBe(3);
  });

  it('change-pin and change-puk replace the codes', async () => {
    expect((await pivTool('-a', 'change-pin', '-P', DEFAULT_PIN, '-N', '654321')).code).toBe(0);
    expect((await pivTool('-a', 'verify-pin', '-P', '654321')).code).toBe(0);
    expect((await pivTool('-a', 'change-puk', '-P', DEFAULT_PUK, '-N', '87654321')).code).toBe(0);
    // The old PUK no longer works, the new one does (changing it to itself proves it without a lasting change).
    expect((await pivTool('-a', 'change-puk', '-P', DEFAULT_PUK, '-N', DEFAULT_PUK)).code).not.toBe(0);
    expect((await pivTool('-a', 'change-puk', '-P', '87654321', '-N', '87654321')).code).toBe(0);
  });

  it('three wrong PINs block the PIN; unblock-pin with the PUK sets a new one', async () => {
    for (let attempt = 0; attempt < 3; attempt++) expect((await pivTool('-a', 'verify-pin', '-P', '000000')).code).not.toBe(0);
    const blocked = await pivTool('-a', 'verify-pin', '-P', '654321');
    expect(blocked.code).not.toBe(0);
    expect(blocked.output).toMatch(/blocked/i);
    expect(await pinTriesLeft()).toBe(0);
    const unblock = await pivTool('-a', 'unblock-pin', '-P', '87654321', '-N', '112233');
    expect(unblock.code).toBe(0);
    expect(unblock.output).toContain('Successfully unblocked the pin code');
    expect((await pivTool('-a', 'verify-pin', '-P', '112233')).code).toBe(0);
    expect(await pinTriesLeft()).toBe(3);
  });

  it('set-mgm-key to a new 3DES key: the old key is refused, the new one authenticates pin-retries', async () => {
    const newKey = '0123456789ABCDEFFEDCBA987654321089ABCDEF01234567';
    expect((await pivTool('-a', 'set-mgm-key', '-n', newKey)).code).toBe(0);
    const withOld = await pivTool('-a', 'verify-pin', '-P', '112233', '-a', 'pin-retries', '--pin-retries', '5', '--puk-retries', '4');
    expect(withOld.code).not.toBe(0);
    expect(withOld.output).toContain('Failed authentication');

    const retries = await pivTool(`--key=${newKey}`, '-a', 'verify-pin', '-P', '112233', '-a', 'pin-retries', '--pin-retries', '5', '--puk-retries', '4');
    expect(retries.code).toBe(0);
    expect(await pinTriesLeft()).toBe(5);
    // SET PIN RETRIES puts PIN and PUK back to their factory values; 3/3 restores the factory counts too.
    expect((await pivTool(`--key=${newKey}`, '-a', 'verify-pin', '-P', DEFAULT_PIN, '-a', 'pin-retries', '--pin-retries', '3', '--puk-retries', '3')).code).toBe(0);
    expect(await pinTriesLeft()).toBe(3);
    expect((await pivTool('-a', 'verify-pin', '-P', DEFAULT_PIN)).code).toBe(0);
    expect((await pivTool('-a', 'change-puk', '-P', DEFAULT_PUK, '-N', DEFAULT_PUK)).code).toBe(0);
    expect((await pivTool(`--key=${newKey}`, '-a', 'set-mgm-key', '-n', DEFAULT_MGM_KEY)).code).toBe(0);
  });
});

describe.skipIf(pcscdMissing())('ykman against a Tessera virtual PIV card', () => {
  withFreshCard(20_000_002);

  it('piv info shows the PIN tries, before and after a wrong PIN', async () => {
    const info = await ykman('piv', 'info');
    expect(info.code).toBe(0);
    expect(info.output).toContain('PIV version: 5.4.3');
    expect(info.output).toMatch(/PIN tries remaining: 3\/3/);
    await pivTool('-a', 'verify-pin', '-P', '999999');
    expect((await ykman('piv', 'info')).output).toMatch(/PIN tries remaining: 2\/3/);
  });

  it('piv access change-pin changes the PIN', async () => {
    const change = await ykman('piv', 'access', 'change-pin', '-P', DEFAULT_PIN, '-n', '246810');
    expect(change.code).toBe(0);
    expect(change.output).toContain('New PIN set');
    expect((await pivTool('-a', 'verify-pin', '-P', '246810')).code).toBe(0);
    expect((await ykman('piv', 'info')).output).toMatch(/PIN tries remaining: 3\/3/);
  });
});

describe.skipIf(pcscdMissing())('OpenSC against a Tessera virtual PIV card', () => {
  withFreshCard(20_000_003);

  it('opensc-tool -n names the card a PIV card', async () => {
    const name = await runTool('opensc-tool', ['-r', READER, '-n']);
    expect(name.code).toBe(0);
    expect(name.stdout).toContain('Personal Identity Verification Card');
  });

  it('pkcs15-tool verifies, changes and unblocks the PIN', async () => {
    expect((await pkcs15('--verify-pin', '--auth-id', '01', '--pin', DEFAULT_PIN)).code).toBe(0);
    expect((await pkcs15('--verify-pin', '--auth-id', '01', '--pin', '999999')).code).not.toBe(0);
    expect(await pinTriesLeft()).toBe(2);
    expect((await pkcs15('--change-pin', '--auth-id', '01', '--pin', DEFAULT_PIN, '--new-pin', '135790')).code).toBe(0);
    expect((await pivTool('-a', 'verify-pin', '-P', '135790')).code).toBe(0);
    for (let attempt = 0; attempt < 3; attempt++) await pivTool('-a', 'verify-pin', '-P', '000000');
    expect(await pinTriesLeft()).toBe(0);
    expect((await pkcs15('--unblock-pin', '--auth-id', '01', '--puk', DEFAULT_PUK, '--new-pin', DEFAULT_PIN)).code).toBe(0);
    expect(await pinTriesLeft()).toBe(3);
    expect((await pkcs15('--verify-pin', '--auth-id', '01', '--pin', DEFAULT_PIN)).code).toBe(0);
  });

  it('pkcs11-tool -L lists the token in the vpcd reader', async () => {
    const slots = await pkcs11('-L');
    expect(slots.code).toBe(0);
    expect(slots.stdout).toContain(READER);
    expect(slots.stdout).toMatch(/token label\s*:\s*\S+/);
    expect(slots.stdout).toContain('PIN initialized');
  });
});

describe.skipIf(pcscdMissing())('keys and certificates made with Yubico tools, used through OpenSC PKCS#11', () => {
  withFreshCard(20_000_004);
  const dir = mkdtempSync(join(tmpdir(), 'tessera-piv-interop-'));
  const data = join(dir, 'data.txt');
  writeFileSync(data, 'Tessera signs this through OpenSC\n');

  /** Generates a key with yubico-piv-tool, self-signs it on the card, imports the certificate with yubico-piv-tool. */
  async function keyWithCertificate(slot: string, algorithm: string, subject: string): Promise<X509Certificate> {
    const publicKey = join(dir, `pub-${slot}.pem`);
    const generate = await pivTool('-a', 'generate', '-s', slot, '-A', algorithm, '-o', publicKey);
    expect(generate.code, generate.output).toBe(0);
    // yubico-piv-tool 2.2.0 + OpenSSL 3 cannot selfsign (see the todo below): ykman signs the certificate on the card.
    const selfsign = await ykman('piv', 'certificates', 'generate', '-s', subject, '-P', DEFAULT_PIN, '-m', DEFAULT_MGM_KEY, slot, publicKey);
    expect(selfsign.code, selfsign.output).toBe(0);
    const certificateFile = join(dir, `cert-${slot}.pem`);
    expect((await pivTool('-a', 'read-certificate', '-s', slot, '-o', certificateFile)).code).toBe(0);
    const imported = await pivTool('-a', 'import-certificate', '-s', slot, '-i', certificateFile);
    expect(imported.code, imported.output).toBe(0);
    const certificate = new X509Certificate(readFileSync(certificateFile));
    expect(certificate.verify(certificate.publicKey)).toBe(true);
    expect(certificate.publicKey.export({ type: 'spki', format: 'pem' })).toBe(createPublicKey(readFileSync(publicKey)).export({ type: 'spki', format: 'pem' }));
    return certificate;
  }

  it('ECC P-256 in 9A: generated, self-signed on the card, imported, and signs through opensc-pkcs11', async () => {
    const certificate = await keyWithCertificate('9a', 'ECCP256', 'CN=Tessera PIV Authentication');
    const listed = await pkcs11('-O', '--slot-index', '0', '--type', 'cert');
    expect(listed.stdout).toContain('CN=Tessera PIV Authentication');
    const signature = join(dir, 'sig-9a.der');
    const sign = await pkcs11('--slot-index', '0', '--login', '--pin', DEFAULT_PIN, '--sign', '--id', '01', '-m', 'ECDSA-SHA256', '--signature-format', 'openssl', '-i', data, '-o', signature);
    expect(sign.code, sign.output).toBe(0);
    expect(verify('sha256', readFileSync(data), { key: certificate.publicKey, dsaEncoding: 'der' }, readFileSync(signature))).toBe(true);
  });

  it('RSA 2048 in 9C: generated, self-signed on the card, imported, and signs through opensc-pkcs11', async () => {
    const certificate = await keyWithCertificate('9c', 'RSA2048', 'CN=Tessera Digital Signature');
    const signature = join(dir, 'sig-9c.bin');
    const sign = await pkcs11('--slot-index', '0', '--login', '--pin', DEFAULT_PIN, '--sign', '--id', '02', '-m', 'SHA256-RSA-PKCS', '-i', data, '-o', signature);
    expect(sign.code, sign.output).toBe(0);
    expect(verify('sha256', readFileSync(data), certificate.publicKey, readFileSync(signature))).toBe(true);
  });

  it('pkcs11-tool --test signs, verifies and decrypts with the RSA key', async () => {
    const test = await pkcs11('--slot-index', '0', '--login', '--pin', DEFAULT_PIN, '--test');
    expect(test.output).toContain('all 4 signature functions seem to work');
    expect(test.output).toMatch(/Decryption[\s\S]*RSA-PKCS: OK/);
    // The one error it reports is C_GenerateRandom (gap 1 in /work/notes/piv-card-gaps.md).
    expect(test.output).not.toMatch(/RSA-X-509: ERR|RSA-PKCS: ERR/);
  });

  it.todo('yubico-piv-tool -a selfsign-certificate: yubico-piv-tool 2.2.0 with OpenSSL 3 fails before any APDU (Yubico issue #388), not a card gap');
});
