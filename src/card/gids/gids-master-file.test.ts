// The minidriver master file format: encoding, parsing, lookup.
import { describe, expect, it } from 'vitest';
import { encodeMasterFile, findMasterFileRecord, INITIAL_MASTER_FILE_RECORDS, parseMasterFile } from './gids-master-file.ts';

describe('master file', () => {
  it('encodes 28-byte records after a version byte and parses them back', () => {
    const encoded = encodeMasterFile(INITIAL_MASTER_FILE_RECORDS);
    expect(encoded).toHaveLength(1 + 5 * 28);
    expect(encoded[0]).toBe(1);
    // "cardid" in A012, object DF20, numbers little-endian after 2 alignment bytes.
    expect(Buffer.from(encoded.subarray(29, 57)).toString('hex')).toBe('000000000000000000636172646964000000000020df000012a00000');
    expect(parseMasterFile(encoded)).toEqual(INITIAL_MASTER_FILE_RECORDS);
  });

  it('finds a file by directory and name', () => {
    const records = parseMasterFile(encodeMasterFile(INITIAL_MASTER_FILE_RECORDS));
    expect(findMasterFileRecord(records, 'mscp', 'cmapfile')).toEqual({ directory: 'mscp', filename: 'cmapfile', file: 0xa010, tag: 0xdf23 });
    expect(findMasterFileRecord(records, 'mscp', 'kxc00')).toBeUndefined();
  });

  it('refuses an unknown format', () => {
    expect(() => parseMasterFile(Uint8Array.of(2))).toThrow(expect.objectContaining({ code: 'ERR_CARD_INVALID_RESPONSE' }));
    expect(() => parseMasterFile(new Uint8Array(0))).toThrow(expect.objectContaining({ code: 'ERR_CARD_INVALID_RESPONSE' }));
  });
});
