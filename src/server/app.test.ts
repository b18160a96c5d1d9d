// buildApp failing to start: a clear coded error, and whatever it opened is closed again; a clean shutdown checkpoints the audit chain.
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildApp } from './app.ts';

const dir = mkdtempSync(join(tmpdir(), 'tessera-app-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const base = { keyStore: { kind: 'file' as const, path: join(dir, 'master.key'), createIfMissing: true }, auditCheckpointDir: join(dir, 'checkpoints'), logger: false as const };

describe('buildApp', () => {
  it('refuses an unreachable PostgreSQL with a coded error', async () => {
    await expect(buildApp({ ...base, databaseUrl: 'postgres://postgres@127.0.0.1:1/none' })).rejects.toMatchObject({ code: 'ERR_DATABASE_MIGRATION' });
  });

  it('refuses a missing key file it may not create, after opening and closing the database', async () => {
    const start = buildApp({ ...base, databaseUrl: join(dir, 'db.sqlite'), keyStore: { kind: 'file', path: join(dir, 'absent.key') } });
    await expect(start).rejects.toMatchObject({ code: expect.stringMatching(/^ERR_KEYSTORE/) });
    // The SQLite file is free again: a second app opens it and starts.
    const app = await buildApp({ ...base, databaseUrl: join(dir, 'db.sqlite') });
    expect(app.tessera.firstStart).not.toBeNull();
    await app.close();
  });

  it('writes an audit checkpoint of the head when it shuts down', async () => {
    const checkpointDir = join(dir, 'shutdown-checkpoints');
    const app = await buildApp({ ...base, databaseUrl: join(dir, 'shutdown.sqlite'), auditCheckpointDir: checkpointDir });
    const { count } = await app.tessera.auditLog.verify();
    expect(count).toBeGreaterThan(0);
    await app.close();
    expect(readdirSync(checkpointDir)).toEqual([`audit-checkpoint-${String(count).padStart(12, '0')}.json`]);
  });
});
