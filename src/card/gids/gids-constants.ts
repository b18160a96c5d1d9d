// Numbers of the GIDS application (Microsoft Generic Identity Device Specification), by name.

/** GIDS application identifier as OpenSC and gids-tool select it (RID + PIX, without version). */
export const GIDS_AID = Uint8Array.from([0xa0, 0x00, 0x00, 0x03, 0x97, 0x42, 0x54, 0x46, 0x59]);
/** The full AID of a version 2 GIDS application (what GidsApplet registers and reports). */
export const GIDS_V2_FULL_AID = Uint8Array.from([...GIDS_AID, 0x02, 0x01]);

export const GIDS_INS = {
  SELECT: 0xa4,
  VERIFY: 0x20,
  CHANGE_REFERENCE_DATA: 0x24,
  RESET_RETRY_COUNTER: 0x2c,
  MANAGE_SECURITY_ENVIRONMENT: 0x22,
  PERFORM_SECURITY_OPERATION: 0x2a,
  ACTIVATE_FILE: 0x44,
  GENERATE_ASYMMETRIC_KEY_PAIR: 0x47,
  GENERAL_AUTHENTICATE: 0x87,
  GET_DATA: 0xcb,
  PUT_DATA: 0xdb,
  CREATE_FILE: 0xe0,
  DELETE_FILE: 0xe4,
} as const;

/** The user PIN's key reference. GIDS v2 has no PUK. */
export const GIDS_PIN_REFERENCE = 0x80;
/** Key reference of the 24-byte 3DES administrator key, held in key file B0 80. */
export const GIDS_ADMIN_KEY_REFERENCE = 0x80;

export const GIDS_PIN_MIN_LENGTH = 4;
export const GIDS_PIN_MAX_LENGTH = 16;
export const GIDS_ADMIN_KEY_LENGTH = 24;

/** P1 of VERIFY with P2 82: forget every PIN and key authentication (logout). */
export const GIDS_VERIFY_DEAUTHENTICATE_P2 = 0x82;
/** P1 of CHANGE REFERENCE DATA: 00 = old‖new, 01 = set the PIN (initialisation, or after VERIFY). */
export const GIDS_CHANGE_PIN_P1 = { OLD_AND_NEW: 0x00, NEW_ONLY: 0x01 } as const;
/** P1 of RESET RETRY COUNTER after an admin-key authentication. */
export const GIDS_RESET_RETRY_COUNTER_P1 = 0x02;

/** MSE SET P1 for external/mutual authentication (OpenSC sends C1; 81 works too) and the authentication template. */
export const GIDS_MSE_SET_AUTHENTICATION_P1 = 0xc1;
export const GIDS_MSE_AUTHENTICATION_TEMPLATE = 0xa4;

/** The application's own DO file: P1 P2 of GET DATA for PIN status, key import and public keys. */
export const GIDS_APPLICATION_FILE = 0x3fff;

/** Data objects read through GET DATA 3F FF. */
export const GIDS_DO = {
  TAG_LIST: 0x5c,
  PIN_STATUS: 0x7f71,
  PIN_STATUS_ALIAS: 0x7f72,
  PUK_STATUS: 0x7f73,
  TRIES_LEFT: 0x97,
  TRY_LIMIT: 0x93,
  /** PUT DATA 3F FF: key import template. */
  KEY_TEMPLATE: 0x70,
  KEY_REFERENCE: 0x84,
  KEY_VALUE_TEMPLATE: 0xa5,
  KEY_TYPE: 0x83,
  KEY_VALUE: 0x87,
  KEY_FILE: 0x88,
} as const;

/** Dynamic authentication template of GENERAL AUTHENTICATE and its fields. */
export const GIDS_DYNAMIC_AUTH = {
  TEMPLATE: 0x7c,
  CHALLENGE: 0x81,
  RESPONSE: 0x82,
} as const;

/** External authentication: the card's challenge is one 3DES block. */
export const EXTERNAL_CHALLENGE_LENGTH = 8;
/** Mutual authentication: R1 and R2 are 16 bytes; Z1/Z2 are 7 random bytes and the padding byte 80. */
export const MUTUAL_RANDOM_LENGTH = 16;
export const MUTUAL_CRYPTOGRAM_LENGTH = 40;

/**
 * The minidriver file system that gids-tool (and Tessera) create: EF file identifiers and the
 * data objects inside them, as OpenSC's card-gids.h names them.
 */
export const GIDS_FILE = {
  USER_CREATE_DELETE_DIR: 0xa000,
  EVERYONE_READ_USER_WRITE: 0xa010,
  USER_WRITE_EXECUTE: 0xa011,
  EVERYONE_READ_ADMIN_WRITE: 0xa012,
  USER_READ_WRITE: 0xa013,
  ADMIN_READ_WRITE: 0xa014,
  ADMIN_KEY: 0xb080,
} as const;

export const GIDS_OBJECT = {
  MASTER_FILE: { file: GIDS_FILE.USER_CREATE_DELETE_DIR, tag: 0xdf1f },
  KEY_MAP: { file: GIDS_FILE.USER_CREATE_DELETE_DIR, tag: 0xdf20 },
  CARD_APPS: { file: GIDS_FILE.EVERYONE_READ_USER_WRITE, tag: 0xdf21 },
  CARD_CF: { file: GIDS_FILE.EVERYONE_READ_USER_WRITE, tag: 0xdf22 },
  CMAP_FILE: { file: GIDS_FILE.EVERYONE_READ_USER_WRITE, tag: 0xdf23 },
  CARD_ID: { file: GIDS_FILE.EVERYONE_READ_ADMIN_WRITE, tag: 0xdf20 },
} as const;

export const CARD_ID_LENGTH = 16;

/** File descriptor bytes (tag 82 of an FCP) of the two EF kinds a GIDS card creates. */
export const GIDS_FILE_DESCRIPTOR = { BER_TLV_DATA_OBJECTS: 0x39, KEY: 0x18 } as const;

/**
 * Security conditions in compact form (tag 8C): access mode byte, then one condition byte per
 * operation bit set, highest bit first. Conditions: 00 always, FF never, 3x PIN or admin key,
 * 2x admin key, 9x PIN only, Ax admin key only.
 */
export const GIDS_SECURITY_CONDITION = { ALWAYS: 0x00, NEVER: 0xff, PIN_OR_ADMIN: 0x30, ADMIN: 0x20 } as const;
