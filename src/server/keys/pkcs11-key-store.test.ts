// Checks the PKCS#11 key store against a real SoftHSM2 token: same contract as the key file, keys inside the token.
import * as graphene from 'graphene-pk11';
import { beforeAll, expect, it } from 'vitest';
import { createSoftHsmToken, describeWithSoftHsm, SOFTHSM_LIBRARY, TEST_USER_PIN } from '../../../test/support/softhsm.ts';
import { Secret } from '../../secret.ts';
import { isDegenerateTripleDesKey } from './card-key-derivation.ts';
import { exportKeyBackup } from './key-backup.ts';
import { openKeyStore, type KeyStore } from './key-store.ts';

const cardIdentifier = Uint8Array.from(Buffer.from('5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a', 'hex'));
const pin = Secret.fromText(TEST_USER_PIN);
const open = (tokenLabel: string, keyLabel = 'tessera-master', createIfMissing = true): Promise<KeyStore> =>
  openKeyStore({ kind: 'pkcs11', library: SOFTHSM_LIBRARY, tokenLabel, pin, keyLabel, createIfMissing });

describeWithSoftHsm('PKCS#11 key store (SoftHSM2)', () => {
  beforeAll(() => {
    createSoftHsmToken('tessera-a');
    createSoftHsmToken('tessera-b');
  });

  it('derives stable card keys inside the token, keeps them across reopen, and never degenerate', async () => {
    const store = await open('tessera-a');
    const request = { cardType: 'gids', cardIdentifier, keyVersion: 1, purpose: 'gids-admin' } as const;
    const key = await store.deriveCardKey(request);
    expect(key.length).toBe(24);
    expect(isDegenerateTripleDesKey(key.expose())).toBe(false);
    const rotated = await store.deriveCardKey({ ...request, keyVersion: 2 });
    expect(rotated.equals(key)).toBe(false);
    const aes = await store.deriveCardKey({ cardType: 'piv', cardIdentifier, keyVersion: 1, purpose: 'piv-management', algorithm: 'aes256' });
    expect(aes.length).toBe(32);
    await store.close();
    const reopened = await open('tessera-a', 'tessera-master', false);
    expect((await reopened.deriveCardKey(request)).equals(key)).toBe(true);
    await reopened.close();
  });

  it('gives different keys from stores with different masters (other token, other key label)', async () => {
    const request = { cardType: 'piv', cardIdentifier, keyVersion: 1, purpose: 'piv-management' } as const;
    const a = await open('tessera-a');
    const b = await open('tessera-b');
    const c = await open('tessera-a', 'other-master');
    const keys = await Promise.all([a, b, c].map((s) => s.deriveCardKey(request)));
    expect(keys[0]!.equals(keys[1]!)).toBe(false);
    expect(keys[0]!.equals(keys[2]!)).toBe(false);
    expect(await a.pinHistoryMac('cred-1', Secret.fromText('1234'))).not.toBe(await b.pinHistoryMac('cred-1', Secret.fromText('1234')));
    expect((await a.macKey('audit')).equals(await b.macKey('audit'))).toBe(false);
    for (const s of [a, b, c]) await s.close();
  });

  it('seals with AES-GCM in the token, bound to the context; tampering and other tokens are refused', async () => {
    const a = await open('tessera-a');
    const b = await open('tessera-b');
    const puk = a.generatePuk();
    expect(puk.exposeText()).toMatch(/^[0-9]{8}$/);
    const sealed = await a.sealSecret(puk, 'puk:cred-7');
    expect((await a.openSecret(sealed, 'puk:cred-7')).equals(puk)).toBe(true);
    await expect(a.openSecret(sealed, 'puk:cred-8')).rejects.toMatchObject({ code: 'ERR_KEYSTORE_SEALED_INVALID' });
    await expect(b.openSecret(sealed, 'puk:cred-7')).rejects.toMatchObject({ code: 'ERR_KEYSTORE_SEALED_INVALID' });
    const bytes = Buffer.from(sealed.slice(5), 'base64url');
    bytes[bytes.length - 1]! ^= 0x80;
    await expect(a.openSecret(`tsk1.${bytes.toString('base64url')}`, 'puk:cred-7')).rejects.toMatchObject({ code: 'ERR_KEYSTORE_SEALED_INVALID' });
    // The store still works after a failed open.
    expect((await a.openSecret(sealed, 'puk:cred-7')).equals(puk)).toBe(true);
    await a.close();
    await b.close();
  });

  it('keeps the master keys non-extractable and refuses a key-file style backup', async () => {
    const store = await open('tessera-a');
    await expect(exportKeyBackup(store, Secret.fromText('a long enough passphrase'))).rejects.toMatchObject({ code: 'ERR_KEYSTORE_BACKUP_UNSUPPORTED' });
    await store.close();
    // Look at the token directly: the key value cannot be read.
    const module = graphene.Module.load(SOFTHSM_LIBRARY);
    module.initialize();
    try {
      const slots = module.getSlots(true);
      let slot: graphene.Slot | undefined;
      for (let i = 0; i < slots.length; i++) if (slots.items(i).getToken().label.trim() === 'tessera-a') slot = slots.items(i);
      const session = slot!.open(graphene.SessionFlag.SERIAL_SESSION);
      session.login(TEST_USER_PIN);
      const key = session.find({ label: 'tessera-master/derive' }).items(0).toType<graphene.SecretKey>();
      expect(key.extractable).toBe(false);
      expect(() => key.getAttribute('value')).toThrow(/CKR_ATTRIBUTE_SENSITIVE/);
      session.close();
    } finally {
      module.finalize();
    }
  });

  it('reports a wrong PIN, an unknown token and missing keys with ERR_KEYSTORE_PKCS11, without the PIN', async () => {
    const wrong = openKeyStore({ kind: 'pkcs11', library: SOFTHSM_LIBRARY, tokenLabel: 'tessera-b', pin: Secret.fromText('0000-wrong'), keyLabel: 'k' });
    await expect(wrong).rejects.toMatchObject({ code: 'ERR_KEYSTORE_PKCS11', message: expect.stringContaining('CKR_PIN_INCORRECT') });
    await expect(wrong.catch((e: Error) => e.message)).resolves.not.toContain('0000-wrong');
    await expect(open('no-such-token')).rejects.toMatchObject({ code: 'ERR_KEYSTORE_PKCS11' });
    await expect(open('tessera-b', 'never-created', false)).rejects.toMatchObject({ code: 'ERR_KEYSTORE_PKCS11' });
    await expect(openKeyStore({ kind: 'pkcs11', library: '/nonexistent/lib.so', tokenLabel: 'x', pin, keyLabel: 'k' })).rejects.toMatchObject({ code: 'ERR_KEYSTORE_PKCS11' });
  });
});
