// The minidriver "master file" of a GIDS card: which EF and data object hold each named file.
import { InvalidResponseError } from '../card-errors.ts';
import { GIDS_OBJECT } from './gids-constants.ts';

/** One entry: a directory (filename empty) or a file in a directory, and where its bytes live. */
export interface MasterFileRecord {
  directory: string;
  filename: string;
  /** EF file identifier, e.g. A010. */
  file: number;
  /** BER-TLV tag of the data object inside the EF, e.g. DF23; 0 for a directory. */
  tag: number;
}

/** Layout of a record as the Windows minidriver and OpenSC store it: two 9-byte C strings, 2 bytes alignment, two little-endian 32-bit numbers. */
const NAME_FIELD = 9;
const RECORD_LENGTH = 28;
const TAG_OFFSET = 20;
const FILE_OFFSET = 24;
const FORMAT_VERSION = 0x01;

/** The file system a freshly initialised card carries (what gids-tool -X writes). */
export const INITIAL_MASTER_FILE_RECORDS: readonly MasterFileRecord[] = [
  { directory: 'mscp', filename: '', file: GIDS_OBJECT.MASTER_FILE.file, tag: 0 },
  { directory: '', filename: 'cardid', file: GIDS_OBJECT.CARD_ID.file, tag: GIDS_OBJECT.CARD_ID.tag },
  { directory: '', filename: 'cardapps', file: GIDS_OBJECT.CARD_APPS.file, tag: GIDS_OBJECT.CARD_APPS.tag },
  { directory: '', filename: 'cardcf', file: GIDS_OBJECT.CARD_CF.file, tag: GIDS_OBJECT.CARD_CF.tag },
  { directory: 'mscp', filename: 'cmapfile', file: GIDS_OBJECT.CMAP_FILE.file, tag: GIDS_OBJECT.CMAP_FILE.tag },
];

function writeName(target: Buffer, offset: number, name: string): void {
  const bytes = Buffer.from(name, 'latin1');
  // Room for the terminating NUL: names are at most 8 characters.
  bytes.subarray(0, NAME_FIELD - 1).copy(target, offset);
}

function readName(source: Buffer, offset: number): string {
  const field = source.subarray(offset, offset + NAME_FIELD);
  const end = field.indexOf(0);
  return field.subarray(0, end === -1 ? NAME_FIELD : end).toString('latin1');
}

export function encodeMasterFile(records: readonly MasterFileRecord[]): Uint8Array {
  const out = Buffer.alloc(1 + records.length * RECORD_LENGTH);
  out[0] = FORMAT_VERSION;
  records.forEach((record, index) => {
    const base = 1 + index * RECORD_LENGTH;
    writeName(out, base, record.directory);
    writeName(out, base + NAME_FIELD, record.filename);
    out.writeUInt32LE(record.tag, base + TAG_OFFSET);
    out.writeUInt32LE(record.file, base + FILE_OFFSET);
  });
  return new Uint8Array(out);
}

export function parseMasterFile(bytes: Uint8Array): MasterFileRecord[] {
  if (bytes.length < 1 || bytes[0] !== FORMAT_VERSION) throw new InvalidResponseError('the card\'s master file has an unknown format');
  const buffer = Buffer.from(bytes);
  const records: MasterFileRecord[] = [];
  // Trailing bytes short of a record are ignored, as the minidriver does.
  for (let base = 1; base + RECORD_LENGTH <= buffer.length; base += RECORD_LENGTH) {
    records.push({
      directory: readName(buffer, base),
      filename: readName(buffer, base + NAME_FIELD),
      tag: buffer.readUInt32LE(base + TAG_OFFSET),
      file: buffer.readUInt32LE(base + FILE_OFFSET),
    });
  }
  return records;
}

export function findMasterFileRecord(records: readonly MasterFileRecord[], directory: string, filename: string): MasterFileRecord | undefined {
  return records.find((record) => record.directory === directory && record.filename === filename);
}
