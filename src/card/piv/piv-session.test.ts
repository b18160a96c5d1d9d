import { constants, createHash, createVerify, diffieHellman, generateKeyPairSync, publicEncrypt, verify } from 'node:crypto';
import { beforeEach, describe, expect, it } from 'vitest';
import { Secret } from '../../secret.ts';
import { MemoryStateStore } from '../../virtual-card/card-state-store.ts';
import { InProcessTransport } from '../../virtual-card/in-process-transport.ts';
import { VirtualPivCard } from '../../virtual-card/piv/virtual-piv-card.ts';
import { DEFAULT_MANAGEMENT_KEY_HEX, PIN_POLICY, PIV_ALGORITHM, PIV_OBJECT, PIV_SLOT, type ManagementKeyAlgorithm } from './piv-constants.ts';
import { PivSession } from './piv-session.ts';

const pin = (text: string) => Secret.fromText(text);
const defaultManagementKey = () => Secret.fromHex(DEFAULT_MANAGEMENT_KEY_HEX);

async function openCard(serial = 12345678) {
  const store = new MemoryStateStore();
  const card = VirtualPivCard.create(store, { serial });
  const session = await PivSession.open(new InProcessTransport(card));
  return { store, card, session };
}

function rejectsWithCode(promise: Promise<unknown>, code: string, extra: Record<string, unknown> = {}) {
  return expect(promise).rejects.toMatchObject({ code, ...extra });
}

describe('PivSession against the virtual PIV card', () => {
  let session: PivSession;
  let card: VirtualPivCard;

  beforeEach(async () => {
    ({ session, card } = await openCard());
  });

  it('selects the application and reads version and serial', async () => {
    expect(session.version).toEqual({ major: 5, minor: 4, patch: 3 });
    expect(await session.getSerial()).toBe(12345678);
  });

  it('has no card identifier until a CHUID is written, then reads its GUID', async () => {
    expect(await session.getCardIdentifier()).toBeUndefined();
    await rejectsWithCode(session.putChuid(), 'ERR_CARD_SECURITY_STATUS');
    await session.authenticate(PIV_ALGORITHM.TDES, defaultManagementKey());
    const guid = Uint8Array.from(Buffer.from('00112233445566778899aabbccddeeff', 'hex'));
    expect(await session.putChuid(guid)).toEqual(guid);
    expect(await session.getCardIdentifier()).toEqual(guid);
  });

  it('reads PIN and PUK tries without spending one', async () => {
    expect(await session.getPinTriesLeft()).toBe(3);
    expect(await session.getPukTriesLeft()).toBe(3);
    expect(await session.getPinMetadata()).toEqual({ isDefault: true, retryLimit: 3, triesLeft: 3 });
    expect(await session.getPinTriesLeft()).toBe(3);
  });

  it('counts PIN tries down with 63Cx, blocks with 6983, and a right PIN restores the count', async () => {
    await rejectsWithCode(session.verifyPin(pin('000000')), 'ERR_CARD_PIN_INVALID', { triesLeft: 2 });
    await session.verifyPin(pin('123456'));
    expect(await session.getPinTriesLeft()).toBe(3);
    await rejectsWithCode(session.verifyPin(pin('000000')), 'ERR_CARD_PIN_INVALID', { triesLeft: 2 });
    await rejectsWithCode(session.verifyPin(pin('000000')), 'ERR_CARD_PIN_INVALID', { triesLeft: 1 });
    await rejectsWithCode(session.verifyPin(pin('000000')), 'ERR_CARD_PIN_INVALID', { triesLeft: 0 });
    await rejectsWithCode(session.verifyPin(pin('123456')), 'ERR_CARD_PIN_BLOCKED');
    expect(await session.getPinTriesLeft()).toBe(0);
  });

  it('reads tries with an empty VERIFY on cards without GET METADATA', async () => {
    const store = new MemoryStateStore();
    VirtualPivCard.create(store, { serial: 1 });
    // A YubiKey 4 has no GET METADATA: the session must fall back to the empty VERIFY.
    const state = JSON.parse(store.load()!);
    state.firmware = [4, 3, 7];
    const reopened = VirtualPivCard.open(new MemoryStateStore(JSON.stringify(state)));
    const s = await PivSession.open(new InProcessTransport(reopened));
    expect(s.supportsMetadata).toBe(false);
    await rejectsWithCode(s.verifyPin(pin('999999')), 'ERR_CARD_PIN_INVALID', { triesLeft: 2 });
    expect(await s.getPinTriesLeft()).toBe(2);
    await rejectsWithCode(s.getPukTriesLeft(), 'ERR_CARD_NOT_SUPPORTED');
  });

  it('changes the PIN and refuses a wrong current PIN', async () => {
    await rejectsWithCode(session.changePin(pin('111111'), pin('654321')), 'ERR_CARD_PIN_INVALID', { triesLeft: 2 });
    await session.changePin(pin('123456'), pin('654321'));
    expect((await session.getPinMetadata()).isDefault).toBe(false);
    await rejectsWithCode(session.verifyPin(pin('123456')), 'ERR_CARD_PIN_INVALID');
    await session.verifyPin(pin('654321'));
  });

  it('refuses a new PIN shorter than 6 characters before sending it', async () => {
    await rejectsWithCode(session.changePin(pin('123456'), pin('1234')), 'ERR_CARD_PIN_FORMAT');
    await rejectsWithCode(session.verifyPin(pin('123456789')), 'ERR_CARD_PIN_FORMAT');
    expect(await session.getPinTriesLeft()).toBe(3);
  });

  it('changes the PUK; a wrong PUK decrements the PUK counter', async () => {
    await rejectsWithCode(session.changePuk(pin('00000000'), pin('87654321')), 'ERR_CARD_PUK_INVALID', { triesLeft: 2 });
    expect(await session.getPukTriesLeft()).toBe(2);
    await session.changePuk(pin('12345678'), pin('87654321'));
    expect(await session.getPukTriesLeft()).toBe(3);
    await rejectsWithCode(session.unblockPin(pin('12345678'), pin('111111')), 'ERR_CARD_PUK_INVALID', { triesLeft: 2 });
  });

  it('unblocks a blocked PIN with the PUK, which resets the PIN counter', async () => {
    for (let i = 0; i < 3; i++) await session.verifyPin(pin('000000')).catch(() => undefined);
    await rejectsWithCode(session.verifyPin(pin('123456')), 'ERR_CARD_PIN_BLOCKED');
    await rejectsWithCode(session.unblockPin(pin('11111111'), pin('222222')), 'ERR_CARD_PUK_INVALID', { triesLeft: 2 });
    await session.unblockPin(pin('12345678'), pin('222222'));
    expect(await session.getPinTriesLeft()).toBe(3);
    expect(await session.getPukTriesLeft()).toBe(3);
    await session.verifyPin(pin('222222'));
  });

  it('blocks the PUK at its limit; then neither PUK use nor unblock works', async () => {
    for (const expected of [2, 1, 0]) {
      await rejectsWithCode(session.changePuk(pin('00000000'), pin('11111111')), 'ERR_CARD_PUK_INVALID', { triesLeft: expected });
    }
    await rejectsWithCode(session.changePuk(pin('12345678'), pin('11111111')), 'ERR_CARD_PUK_BLOCKED');
    await rejectsWithCode(session.unblockPin(pin('12345678'), pin('222222')), 'ERR_CARD_PUK_BLOCKED');
    expect(await session.getPukTriesLeft()).toBe(0);
  });

  it.each([
    ['3DES', PIV_ALGORITHM.TDES, 24],
    ['AES-128', PIV_ALGORITHM.AES_128, 16],
    ['AES-192', PIV_ALGORITHM.AES_192, 24],
    ['AES-256', PIV_ALGORITHM.AES_256, 32],
  ] as const)('authenticates with a %s management key and changes it', async (_name, algorithm, length) => {
    await session.authenticate(PIV_ALGORITHM.TDES, defaultManagementKey());
    const newKey = Secret.fromHex('a5'.repeat(length - 1) + '01');
    await session.setManagementKey(algorithm as ManagementKeyAlgorithm, newKey);
    expect(await session.getManagementKeyMetadata()).toEqual({ algorithm, isDefault: false, touchRequired: false });
    const again = await PivSession.open(new InProcessTransport(card));
    await again.authenticate(algorithm as ManagementKeyAlgorithm, newKey);
    await rejectsWithCode(again.authenticate(algorithm as ManagementKeyAlgorithm, defaultManagementKey().length === length ? defaultManagementKey() : Secret.fromHex('00'.repeat(length))), 'ERR_CARD_AUTHENTICATION_FAILED');
  });

  it('rejects a wrong management key with 6982', async () => {
    const trace: string[] = [];
    const transport = new InProcessTransport(card);
    const s = await PivSession.open({ transmit: async (c) => { const r = await transport.transmit(c); trace.push(Buffer.from(r.subarray(-2)).toString('hex')); return r; } });
    await rejectsWithCode(s.authenticate(PIV_ALGORITHM.TDES, Secret.fromHex('02'.repeat(24))), 'ERR_CARD_AUTHENTICATION_FAILED');
    expect(trace.at(-1)).toBe('6982');
    await rejectsWithCode(s.putObject(PIV_OBJECT.CHUID, Uint8Array.of(1)), 'ERR_CARD_SECURITY_STATUS');
  });

  it('refuses the management key of another algorithm', async () => {
    await rejectsWithCode(session.authenticate(PIV_ALGORITHM.AES_192, defaultManagementKey()), 'ERR_CARD_AUTHENTICATION_FAILED');
  });

  it('sets PIN and PUK retry limits, which returns both to their defaults', async () => {
    await session.changePin(pin('123456'), pin('765432'));
    await rejectsWithCode(session.setPinRetries(5, 4), 'ERR_CARD_SECURITY_STATUS');
    await session.authenticate(PIV_ALGORITHM.TDES, defaultManagementKey());
    await session.verifyPin(pin('765432'));
    await session.setPinRetries(5, 4);
    expect(await session.getPinMetadata()).toEqual({ isDefault: true, retryLimit: 5, triesLeft: 5 });
    expect(await session.getPukMetadata()).toEqual({ isDefault: true, retryLimit: 4, triesLeft: 4 });
    await session.verifyPin(pin('123456'));
  });

  it.each([PIV_SLOT.AUTHENTICATION, PIV_SLOT.CARD_AUTHENTICATION])('generates an ECC P-256 key in slot %s whose signatures verify', async (slot) => {
    await rejectsWithCode(session.generateKey(slot, PIV_ALGORITHM.ECC_P256), 'ERR_CARD_SECURITY_STATUS');
    await session.authenticate(PIV_ALGORITHM.TDES, defaultManagementKey());
    const publicKey = await session.generateKey(slot, PIV_ALGORITHM.ECC_P256);
    const digest = createHash('sha256').update('server nonce 42').digest();
    if (slot === PIV_SLOT.AUTHENTICATION) {
      await rejectsWithCode(session.sign(slot, PIV_ALGORITHM.ECC_P256, digest), 'ERR_CARD_SECURITY_STATUS');
      await session.verifyPin(pin('123456'));
    }
    const signature = await session.sign(slot, PIV_ALGORITHM.ECC_P256, digest);
    // The card signed the digest itself: verify the DER signature over the message with SHA-256.
    expect(verify('sha256', Buffer.from('server nonce 42'), publicKey, signature)).toBe(true);
    expect(verify('sha256', Buffer.from('another nonce'), publicKey, signature)).toBe(false);
    const metadata = await session.getSlotMetadata(slot);
    expect(metadata.publicKey.export({ format: 'der', type: 'spki' })).toEqual(publicKey.export({ format: 'der', type: 'spki' }));
    expect(metadata.pinPolicy).toBe(slot === PIV_SLOT.CARD_AUTHENTICATION ? PIN_POLICY.NEVER : PIN_POLICY.ONCE);
  });

  it('signs and decrypts with RSA 2048 under the slot PIN policy (9C: always)', async () => {
    await session.authenticate(PIV_ALGORITHM.TDES, defaultManagementKey());
    const publicKey = await session.generateKey(PIV_SLOT.SIGNATURE, PIV_ALGORITHM.RSA_2048);
    const digestInfo = Buffer.concat([Buffer.from('3031300d060960864801650304020105000420', 'hex'), createHash('sha256').update('hello').digest()]);
    const block = Buffer.alloc(256, 0xff);
    block[0] = 0;
    block[1] = 1;
    block[256 - digestInfo.length - 1] = 0;
    digestInfo.copy(block, 256 - digestInfo.length);
    await session.verifyPin(pin('123456'));
    const signature = await session.sign(PIV_SLOT.SIGNATURE, PIV_ALGORITHM.RSA_2048, block);
    const verifier = createVerify('sha256').update('hello');
    expect(verifier.verify(publicKey, signature)).toBe(true);
    // PIN policy "always": the verification was spent by that signature.
    await rejectsWithCode(session.sign(PIV_SLOT.SIGNATURE, PIV_ALGORITHM.RSA_2048, block), 'ERR_CARD_SECURITY_STATUS');
    await session.verifyPin(pin('123456'));
    const secret = Buffer.from('a secret for the key management key');
    const encrypted = publicEncrypt({ key: publicKey, padding: constants.RSA_NO_PADDING }, Buffer.concat([Buffer.alloc(256 - secret.length), secret]));
    const decrypted = await session.decrypt(PIV_SLOT.SIGNATURE, PIV_ALGORITHM.RSA_2048, encrypted);
    expect(Buffer.from(decrypted).subarray(-secret.length)).toEqual(secret);
  });

  it('agrees on an ECDH secret with slot 9D', async () => {
    await session.authenticate(PIV_ALGORITHM.TDES, defaultManagementKey());
    const cardKey = await session.generateKey(PIV_SLOT.KEY_MANAGEMENT, PIV_ALGORITHM.ECC_P256);
    const peer = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const peerJwk = peer.publicKey.export({ format: 'jwk' });
    const point = Uint8Array.from([4, ...Buffer.from(peerJwk.x!, 'base64url'), ...Buffer.from(peerJwk.y!, 'base64url')]);
    await session.verifyPin(pin('123456'));
    const shared = await session.calculateSecret(PIV_SLOT.KEY_MANAGEMENT, PIV_ALGORITHM.ECC_P256, point);
    const expected = diffieHellman({ privateKey: peer.privateKey, publicKey: cardKey });
    expect(Buffer.from(shared)).toEqual(expected);
  });

  it('writes and reads certificates through the standard data objects', async () => {
    await session.authenticate(PIV_ALGORITHM.TDES, defaultManagementKey());
    const certificate = Uint8Array.from({ length: 900 }, (_, i) => i % 251);
    expect(await session.getCertificate(PIV_SLOT.AUTHENTICATION)).toBeUndefined();
    await session.putCertificate(PIV_SLOT.AUTHENTICATION, certificate);
    expect(await session.getCertificate(PIV_SLOT.AUTHENTICATION)).toEqual(certificate);
    // A fresh session (new power-up) reads it without authentication.
    card.reset();
    const reader = await PivSession.open(new InProcessTransport(card));
    expect(await reader.getCertificate(PIV_SLOT.AUTHENTICATION)).toEqual(certificate);
  });

  it('resets the card only when PIN and PUK are both blocked', async () => {
    await rejectsWithCode(session.reset(), 'ERR_CARD_SECURITY_STATUS');
    for (let i = 0; i < 3; i++) await session.verifyPin(pin('000000')).catch(() => undefined);
    for (let i = 0; i < 3; i++) await session.changePuk(pin('00000000'), pin('11111111')).catch(() => undefined);
    await session.reset();
    expect(await session.getPinTriesLeft()).toBe(3);
    await session.verifyPin(pin('123456'));
  });
});

describe('VirtualPivCard persistence', () => {
  it('keeps counters, keys and objects across a reload of its state', async () => {
    const { store, session } = await openCard(99);
    await session.authenticate(PIV_ALGORITHM.TDES, defaultManagementKey());
    const publicKey = await session.generateKey(PIV_SLOT.CARD_AUTHENTICATION, PIV_ALGORITHM.ECC_P256);
    const guid = await session.putChuid();
    await session.verifyPin(pin('000000')).catch(() => undefined);
    const reloaded = await PivSession.open(new InProcessTransport(VirtualPivCard.open(new MemoryStateStore(store.load()))));
    expect(await reloaded.getPinTriesLeft()).toBe(2);
    expect(await reloaded.getCardIdentifier()).toEqual(guid);
    const digest = createHash('sha256').update('x').digest();
    expect(verify('sha256', Buffer.from('x'), publicKey, await reloaded.sign(PIV_SLOT.CARD_AUTHENTICATION, PIV_ALGORITHM.ECC_P256, digest))).toBe(true);
  });

  it('never writes the PIN or PUK into its state', async () => {
    const { store, session } = await openCard(4711);
    await session.changePin(pin('123456'), pin('918273'));
    await session.changePuk(pin('12345678'), pin('56473829'));
    const text = store.load()!;
    for (const secret of ['918273', '56473829', '123456', '12345678']) {
      expect(text).not.toContain(secret);
      expect(text).not.toContain(Buffer.from(secret).toString('hex'));
    }
  });
});
