// Checks the key-file store: file mode and damage handling, derivation through the file's master, PUK sealing, PIN-history MACs.
import { createHmac } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Secret } from '../../secret.ts';
import { encodeCardKeyContext } from './card-key-derivation.ts';
import { serializeKeyFile } from './file-key-store.ts';
import { openKeyStore, type KeyStore } from './key-store.ts';

const dir = mkdtempSync(join(tmpdir(), 'tessera-keys-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let fileCounter = 0;
const newPath = (): string => join(dir, `sub-${++fileCounter}`, 'master.key');
const cardIdentifier = Uint8Array.from(Buffer.from('a0a1a2a3a4a5a6a7a8a9aaabacadaeaf', 'hex'));

async function withStore<T>(path: string, work: (store: KeyStore) => Promise<T>): Promise<T> {
  const store = await openKeyStore({ kind: 'file', path, createIfMissing: true });
  try {
    return await work(store);
  } finally {
    await store.close();
  }
}

describe('key file', () => {
  it('is created with mode 0600 and reopens to the same master', async () => {
    const path = newPath();
    const request = { cardType: 'piv', cardIdentifier, keyVersion: 1, purpose: 'piv-management' } as const;
    const first = await withStore(path, async (s) => Buffer.from((await s.deriveCardKey(request)).expose()).toString('hex'));
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const again = await withStore(path, async (s) => Buffer.from((await s.deriveCardKey(request)).expose()).toString('hex'));
    expect(again).toBe(first);
    const text = readFileSync(path, 'utf8');
    expect(JSON.parse(text)).toMatchObject({ format: 'tessera-key-file', version: 1 });
  });

  it('two processes creating the key file at once end up with one master', async () => {
    const path = newPath();
    const stores = await Promise.all(Array.from({ length: 4 }, () => openKeyStore({ kind: 'file', path, createIfMissing: true })));
    const keys = await Promise.all(stores.map((s) => s.macKey('audit')));
    for (const key of keys) expect(key.equals(keys[0]!)).toBe(true);
    for (const store of stores) await store.close();
  });

  it('refuses a key file readable by group or others', async () => {
    const path = newPath();
    await withStore(path, async () => undefined);
    chmodSync(path, 0o640);
    await expect(openKeyStore({ kind: 'file', path })).rejects.toMatchObject({ code: 'ERR_KEYSTORE_FILE_PERMISSIONS' });
    chmodSync(path, 0o604);
    await expect(openKeyStore({ kind: 'file', path })).rejects.toMatchObject({ code: 'ERR_KEYSTORE_FILE_PERMISSIONS' });
  });

  it('says the file is missing when not asked to create it', async () => {
    await expect(openKeyStore({ kind: 'file', path: newPath() })).rejects.toMatchObject({ code: 'ERR_KEYSTORE_FILE_MISSING' });
  });

  it('gives one clear code for a truncated, damaged or foreign file, never the key bytes', async () => {
    const path = newPath();
    await withStore(path, async () => undefined);
    const good = readFileSync(path, 'utf8');
    const parsed = JSON.parse(good) as Record<string, unknown>;
    const flipped = Buffer.from(parsed.derivationSecret as string, 'base64');
    flipped[0]! ^= 1;
    const variants = [
      good.slice(0, good.length / 2),
      '',
      '{"format":"something-else"}',
      JSON.stringify({ ...parsed, version: 2 }),
      JSON.stringify({ ...parsed, keyEncryptionKey: 'AAAA' }),
      JSON.stringify({ ...parsed, derivationSecret: flipped.toString('base64') }),
    ];
    for (const text of variants) {
      writeFileSync(path, text, { mode: 0o600 });
      const error = await openKeyStore({ kind: 'file', path }).then(() => undefined, (e: unknown) => e as Error & { code: string });
      expect(error?.code).toBe('ERR_KEYSTORE_FILE_CORRUPT');
      expect(error?.message).not.toContain(parsed.derivationSecret as string);
      expect(error?.message).not.toContain(parsed.keyEncryptionKey as string);
    }
  });

  it('derives with the file\'s derivation secret exactly as SP 800-108 says', async () => {
    const path = newPath();
    const material = { keyEncryptionKey: new Uint8Array(32).fill(7), derivationSecret: new Uint8Array(32).fill(9) };
    const { mkdirSync } = await import('node:fs');
    mkdirSync(join(path, '..'), { recursive: true });
    writeFileSync(path, serializeKeyFile(material), { mode: 0o600 });
    const derived = await withStore(path, async (s) => (await s.deriveCardKey({ cardType: 'gids', cardIdentifier, keyVersion: 3, purpose: 'gids-admin' })).expose());
    const context = Buffer.from(encodeCardKeyContext({ cardType: 'gids', cardIdentifier, keyVersion: 3 }));
    const expected = createHmac('sha256', material.derivationSecret)
      .update(Buffer.concat([Buffer.from([0, 0, 0, 1]), Buffer.from('gids-admin'), Buffer.from([0]), context, Buffer.from([0, 0, 0, 192])]))
      .digest()
      .subarray(0, 24);
    expect(Buffer.from(derived).toString('hex')).toBe(expected.toString('hex'));
  });
});

describe('key file store operations', () => {
  it('generates PUKs of 8 random digits', async () => {
    await withStore(newPath(), async (store) => {
      const puks = Array.from({ length: 200 }, () => store.generatePuk().exposeText());
      for (const puk of puks) expect(puk).toMatch(/^[0-9]{8}$/);
      expect(new Set(puks).size).toBeGreaterThan(195);
    });
  });

  it('seals a PUK for one credential: opens there, not in another context, not when tampered', async () => {
    await withStore(newPath(), async (store) => {
      const puk = store.generatePuk();
      const sealed = await store.sealSecret(puk, 'puk:cred-1');
      expect(sealed).toMatch(/^tsk1\.[A-Za-z0-9_-]+$/);
      expect(sealed).not.toContain(puk.exposeText());
      expect((await store.openSecret(sealed, 'puk:cred-1')).equals(puk)).toBe(true);
      expect(await store.sealSecret(puk, 'puk:cred-1')).not.toBe(sealed); // random IV
      await expect(store.openSecret(sealed, 'puk:cred-2')).rejects.toMatchObject({ code: 'ERR_KEYSTORE_SEALED_INVALID' });
      const bytes = Buffer.from(sealed.slice(5), 'base64url');
      for (const index of [0, 12, bytes.length - 1]) {
        const tampered = Buffer.from(bytes);
        tampered[index]! ^= 0x01;
        await expect(store.openSecret(`tsk1.${tampered.toString('base64url')}`, 'puk:cred-1')).rejects.toMatchObject({ code: 'ERR_KEYSTORE_SEALED_INVALID' });
      }
      for (const malformed of ['', 'tsk1.', 'tsk1.!!!', 'tsk2.' + sealed.slice(5), `tsk1.${bytes.subarray(0, 20).toString('base64url')}`]) {
        await expect(store.openSecret(malformed, 'puk:cred-1')).rejects.toMatchObject({ code: 'ERR_KEYSTORE_SEALED_MALFORMED' });
      }
      await expect(store.sealSecret(puk, '')).rejects.toMatchObject({ code: 'ERR_KEYSTORE_INPUT' });
    });
  });

  it('a blob sealed under one master does not open under another', async () => {
    const sealed = await withStore(newPath(), (s) => s.sealSecret(Secret.fromText('12345678'), 'puk:x'));
    await withStore(newPath(), async (other) => {
      await expect(other.openSecret(sealed, 'puk:x')).rejects.toMatchObject({ code: 'ERR_KEYSTORE_SEALED_INVALID' });
    });
  });

  it('keeps PIN history as keyed MACs, per credential', async () => {
    await withStore(newPath(), async (store) => {
      const pin = Secret.fromText('123456');
      const mac = await store.pinHistoryMac('cred-1', pin);
      expect(mac).toMatch(/^[0-9a-f]{64}$/);
      expect(await store.pinHistoryMac('cred-1', Secret.fromText('123456'))).toBe(mac);
      expect(await store.pinHistoryMac('cred-2', pin)).not.toBe(mac);
      expect(await store.pinHistoryMac('cred-1', Secret.fromText('123457'))).not.toBe(mac);
      // Not a plain (unkeyed) hash of the PIN.
      expect(mac).not.toBe(createHmac('sha256', '').update('123456').digest('hex'));
      await expect(store.pinHistoryMac('', pin)).rejects.toMatchObject({ code: 'ERR_KEYSTORE_INPUT' });
    });
    const other = await withStore(newPath(), (s) => s.pinHistoryMac('cred-1', Secret.fromText('123456')));
    const first = await withStore(newPath(), (s) => s.pinHistoryMac('cred-1', Secret.fromText('123456')));
    expect(other).not.toBe(first);
  });

  it('gives a stable 32-byte audit MAC key that never prints', async () => {
    const path = newPath();
    const a = await withStore(path, (s) => s.macKey('audit'));
    const b = await withStore(path, (s) => s.macKey('audit'));
    expect(a.length).toBe(32);
    expect(a.equals(b)).toBe(true);
    expect(`${a}`).toBe('[secret]');
    expect(JSON.stringify({ a })).not.toContain(Buffer.from(a.expose()).toString('hex'));
  });

  it('refuses use after close', async () => {
    const store = await openKeyStore({ kind: 'file', path: newPath(), createIfMissing: true });
    await store.close();
    await store.close();
    await expect(store.macKey('audit')).rejects.toMatchObject({ code: 'ERR_KEYSTORE_CLOSED' });
  });
});
