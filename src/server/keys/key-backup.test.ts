// Checks master-key backup: a credential's derived keys and sealed PUK survive export and restore into an empty location.
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Secret } from '../../secret.ts';
import { exportKeyBackup, restoreKeyBackup } from './key-backup.ts';
import { openKeyStore } from './key-store.ts';

const dir = mkdtempSync(join(tmpdir(), 'tessera-backup-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const passphrase = Secret.fromText('correct horse battery staple');
const cardIdentifier = Uint8Array.from(Buffer.from('0f0e0d0c0b0a09080706050403020100', 'hex'));

describe('key backup', () => {
  it('restores into an empty location a master that still derives the same keys and opens the sealed PUK', async () => {
    const original = await openKeyStore({ kind: 'file', path: join(dir, 'a', 'master.key'), createIfMissing: true });
    const pivKey = await original.deriveCardKey({ cardType: 'piv', cardIdentifier, keyVersion: 4, purpose: 'piv-management' });
    const gidsKey = await original.deriveCardKey({ cardType: 'gids', cardIdentifier, keyVersion: 1, purpose: 'gids-admin' });
    const puk = original.generatePuk();
    const sealedPuk = await original.sealSecret(puk, 'puk:cred-42');
    const pinMac = await original.pinHistoryMac('cred-42', Secret.fromText('246810'));
    const backup = await exportKeyBackup(original, passphrase);
    await original.close();

    expect(JSON.parse(backup)).toMatchObject({ format: 'tessera-key-backup', version: 1, kdf: { name: 'scrypt', N: 131072 } });

    const restoredPath = join(dir, 'b', 'master.key');
    await restoreKeyBackup(backup, passphrase, restoredPath);
    expect(statSync(restoredPath).mode & 0o777).toBe(0o600);
    const restored = await openKeyStore({ kind: 'file', path: restoredPath });
    expect((await restored.deriveCardKey({ cardType: 'piv', cardIdentifier, keyVersion: 4, purpose: 'piv-management' })).equals(pivKey)).toBe(true);
    expect((await restored.deriveCardKey({ cardType: 'gids', cardIdentifier, keyVersion: 1, purpose: 'gids-admin' })).equals(gidsKey)).toBe(true);
    expect((await restored.openSecret(sealedPuk, 'puk:cred-42')).equals(puk)).toBe(true);
    expect(await restored.pinHistoryMac('cred-42', Secret.fromText('246810'))).toBe(pinMac);

    // Restoring never overwrites a key file, not even with the same keys.
    await expect(restoreKeyBackup(backup, passphrase, restoredPath)).rejects.toMatchObject({ code: 'ERR_KEYSTORE_FILE_EXISTS' });
    await restored.close();

    // Wrong passphrase, altered or damaged backups: clear codes, nothing written.
    const target = join(dir, 'c', 'master.key');
    await expect(restoreKeyBackup(backup, Secret.fromText('wrong passphrase!!'), target)).rejects.toMatchObject({ code: 'ERR_KEYSTORE_BACKUP_PASSPHRASE' });
    const parsed = JSON.parse(backup) as Record<string, unknown>;
    await expect(restoreKeyBackup(JSON.stringify({ ...parsed, createdAt: '2000-01-01T00:00:00.000Z' }), passphrase, target)).rejects.toMatchObject({ code: 'ERR_KEYSTORE_BACKUP_PASSPHRASE' });
    await expect(restoreKeyBackup(backup.slice(0, 100), passphrase, target)).rejects.toMatchObject({ code: 'ERR_KEYSTORE_BACKUP_CORRUPT' });
    await expect(restoreKeyBackup(JSON.stringify({ ...parsed, kdf: { ...(parsed.kdf as object), N: 2 ** 30 } }), passphrase, target)).rejects.toMatchObject({ code: 'ERR_KEYSTORE_BACKUP_CORRUPT' });
    await expect(restoreKeyBackup(new TextEncoder().encode('{"format":"x"}'), passphrase, target)).rejects.toMatchObject({ code: 'ERR_KEYSTORE_BACKUP_CORRUPT' });
    expect(() => statSync(target)).toThrow();
  });

  it('refuses a short passphrase and a closed store', async () => {
    const store = await openKeyStore({ kind: 'file', path: join(dir, 'd', 'master.key'), createIfMissing: true });
    await expect(exportKeyBackup(store, Secret.fromText('short'))).rejects.toMatchObject({ code: 'ERR_KEYSTORE_BACKUP_PASSPHRASE_WEAK' });
    await store.close();
    await expect(exportKeyBackup(store, passphrase)).rejects.toMatchObject({ code: 'ERR_KEYSTORE_BACKUP_UNSUPPORTED' });
  });
});
