import { mkdirSync, mkdtempSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FileStateStore } from './card-state-store.ts';
import { createVirtualCardFile, openVirtualCardFile } from './card-file.ts';

describe('FileStateStore', () => {
  it('writes atomically with mode 0600 and leaves no temporary file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tessera-state-'));
    const store = new FileStateStore(join(dir, 'card.json'));
    expect(store.load()).toBeUndefined();
    store.save('{"a":1}');
    store.save('{"a":2}');
    expect(store.load()).toBe('{"a":2}');
    expect(statSync(join(dir, 'card.json')).mode & 0o777).toBe(0o600);
    expect(readdirSync(dir)).toEqual(['card.json']);
  });

  it('reports a write that cannot complete as ERR_STATE_FILE_IO and leaves no temporary file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tessera-state-'));
    // The target is a folder holding a file: the final rename fails whoever runs the test (root included).
    const target = join(dir, 'card.json');
    mkdirSync(target);
    writeFileSync(join(target, 'keep'), 'x');
    expect(() => new FileStateStore(target).save('new')).toThrowError(expect.objectContaining({ code: 'ERR_STATE_FILE_IO' }));
    expect(readdirSync(dir)).toEqual(['card.json']);
    expect(() => new FileStateStore(join(dir, 'missing', 'card.json')).save('new')).toThrowError(expect.objectContaining({ code: 'ERR_STATE_FILE_IO' }));
  });
});

describe('virtual card files', () => {
  it('refuses to overwrite, and names a missing, truncated or foreign file in one error', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tessera-state-'));
    const path = join(dir, 'piv.json');
    createVirtualCardFile('piv', path, { serial: 5 });
    expect(() => createVirtualCardFile('piv', path)).toThrowError(expect.objectContaining({ code: 'ERR_STATE_FILE_EXISTS' }));
    expect(openVirtualCardFile(path).type).toBe('piv');
    expect(() => openVirtualCardFile(join(dir, 'none.json'))).toThrowError(expect.objectContaining({ code: 'ERR_STATE_FILE_MISSING' }));
    const text = FileStateStoreText(path);
    writeFileSync(path, text.slice(0, text.length / 2));
    expect(() => openVirtualCardFile(path)).toThrowError(expect.objectContaining({ code: 'ERR_STATE_FILE_CORRUPT' }));
    writeFileSync(path, text.replace('"triesLeft": 3', '"triesLeft": 9'));
    expect(() => openVirtualCardFile(path)).toThrowError(expect.objectContaining({ code: 'ERR_STATE_FILE_CORRUPT' }));
    writeFileSync(path, '{"hello": "world"}');
    expect(() => openVirtualCardFile(path)).toThrowError(expect.objectContaining({ code: 'ERR_STATE_FILE_CORRUPT' }));
  });
});

function FileStateStoreText(path: string): string {
  return new FileStateStore(path).load()!;
}
