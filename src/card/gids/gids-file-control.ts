// File control parameters (FCP) of the EFs a GIDS card is initialised with, built from their parts.
import { encodeTlv, encodeTlvs } from '../tlv.ts';
import { GIDS_ADMIN_KEY_REFERENCE, GIDS_FILE, GIDS_FILE_DESCRIPTOR, GIDS_MSE_AUTHENTICATION_TEMPLATE, GIDS_SECURITY_CONDITION } from './gids-constants.ts';

const FCP_TAG = 0x62;
const DESCRIPTOR_TAG = 0x82;
const FILE_ID_TAG = 0x83;
const SECURITY_COMPACT_TAG = 0x8c;
const CRT_TAG = 0xa5;

/** Access-mode bits of a data-object EF: PUT DATA (02) and GET DATA (01). */
const DO_ACCESS_MODE = 0x03;
/** Access-mode bits of a key EF: proprietary marker (80), MANAGE SECURITY ENVIRONMENT (04), key import (02), public key read (01). */
const KEY_ACCESS_MODE = 0x87;
/** Algorithm reference 02 (3DES) and usage qualifier C0 (external and internal authentication) of the admin key. */
const ADMIN_KEY_ALGORITHM = 0x02;
const ADMIN_KEY_USAGE = 0xc0;

const fid = (file: number) => Uint8Array.of(file >> 8, file & 0xff);

/** FCP of an EF holding BER-TLV data objects, with conditions for writing and reading. */
export function dataObjectFileFcp(file: number, write: number, read: number): Uint8Array {
  return encodeTlv(
    FCP_TAG,
    encodeTlvs(
      { tag: DESCRIPTOR_TAG, value: Uint8Array.of(GIDS_FILE_DESCRIPTOR.BER_TLV_DATA_OBJECTS) },
      { tag: FILE_ID_TAG, value: fid(file) },
      { tag: SECURITY_COMPACT_TAG, value: Uint8Array.of(DO_ACCESS_MODE, write, read) },
    ),
  );
}

/** FCP of the admin key file: usable for authentication by anyone, replaced only by the admin, never read. */
export function adminKeyFileFcp(): Uint8Array {
  const { ALWAYS, ADMIN, NEVER } = GIDS_SECURITY_CONDITION;
  const usage = encodeTlv(
    GIDS_MSE_AUTHENTICATION_TEMPLATE,
    encodeTlvs(
      { tag: 0x80, value: Uint8Array.of(ADMIN_KEY_ALGORITHM) },
      { tag: 0x83, value: Uint8Array.of(GIDS_ADMIN_KEY_REFERENCE) },
      { tag: 0x95, value: Uint8Array.of(ADMIN_KEY_USAGE) },
    ),
  );
  return encodeTlv(
    FCP_TAG,
    encodeTlvs(
      { tag: DESCRIPTOR_TAG, value: Uint8Array.of(GIDS_FILE_DESCRIPTOR.KEY) },
      { tag: FILE_ID_TAG, value: fid(GIDS_FILE.ADMIN_KEY) },
      { tag: SECURITY_COMPACT_TAG, value: Uint8Array.of(KEY_ACCESS_MODE, ALWAYS, ADMIN, NEVER) },
      { tag: CRT_TAG, value: usage },
    ),
  );
}

/** The six data-object EFs of the minidriver file system, in the order gids-tool creates them. */
export function initialDataObjectFiles(): Uint8Array[] {
  const { ALWAYS, NEVER, PIN_OR_ADMIN, ADMIN } = GIDS_SECURITY_CONDITION;
  return [
    dataObjectFileFcp(GIDS_FILE.USER_CREATE_DELETE_DIR, PIN_OR_ADMIN, ALWAYS),
    dataObjectFileFcp(GIDS_FILE.EVERYONE_READ_USER_WRITE, PIN_OR_ADMIN, ALWAYS),
    dataObjectFileFcp(GIDS_FILE.USER_WRITE_EXECUTE, PIN_OR_ADMIN, NEVER),
    dataObjectFileFcp(GIDS_FILE.EVERYONE_READ_ADMIN_WRITE, ADMIN, ALWAYS),
    dataObjectFileFcp(GIDS_FILE.USER_READ_WRITE, PIN_OR_ADMIN, PIN_OR_ADMIN),
    dataObjectFileFcp(GIDS_FILE.ADMIN_READ_WRITE, ADMIN, ADMIN),
  ];
}
