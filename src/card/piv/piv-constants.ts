// Numbers of the PIV application (NIST SP 800-73-4) and of Yubico's extensions, by name.

/** Full PIV application identifier; the truncated RID-only form `A0 00 00 03 08` also selects it. */
export const PIV_AID = Uint8Array.from([0xa0, 0x00, 0x00, 0x03, 0x08, 0x00, 0x00, 0x10, 0x00, 0x01, 0x00]);
export const PIV_RID = PIV_AID.subarray(0, 5);

export const PIV_INS = {
  SELECT: 0xa4,
  VERIFY: 0x20,
  CHANGE_REFERENCE_DATA: 0x24,
  RESET_RETRY_COUNTER: 0x2c,
  GENERATE_ASYMMETRIC: 0x47,
  GENERAL_AUTHENTICATE: 0x87,
  GET_DATA: 0xcb,
  PUT_DATA: 0xdb,
  GET_RESPONSE: 0xc0,
  // Yubico extensions
  GET_METADATA: 0xf7,
  GET_SERIAL: 0xf8,
  ATTEST: 0xf9,
  SET_PIN_RETRIES: 0xfa,
  RESET: 0xfb,
  GET_VERSION: 0xfd,
  IMPORT_KEY: 0xfe,
  SET_MANAGEMENT_KEY: 0xff,
} as const;

/** Key references of VERIFY, CHANGE REFERENCE DATA and RESET RETRY COUNTER. */
export const PIV_KEY_REFERENCE = {
  PIN: 0x80,
  PUK: 0x81,
  MANAGEMENT_KEY: 0x9b,
} as const;

/** Key slots (key references of GENERAL AUTHENTICATE and GENERATE). */
export const PIV_SLOT = {
  AUTHENTICATION: 0x9a,
  SIGNATURE: 0x9c,
  KEY_MANAGEMENT: 0x9d,
  CARD_AUTHENTICATION: 0x9e,
  ATTESTATION: 0xf9,
} as const;

export const RETIRED_SLOTS: readonly number[] = Array.from({ length: 20 }, (_, i) => 0x82 + i);

/** Cryptographic algorithm identifiers (SP 800-78-4 table 6-2, plus Yubico's). */
export const PIV_ALGORITHM = {
  TDES: 0x03,
  RSA_1024: 0x06,
  RSA_2048: 0x07,
  AES_128: 0x08,
  AES_192: 0x0a,
  AES_256: 0x0c,
  ECC_P256: 0x11,
  ECC_P384: 0x14,
} as const;

export type ManagementKeyAlgorithm = typeof PIV_ALGORITHM.TDES | typeof PIV_ALGORITHM.AES_128 | typeof PIV_ALGORITHM.AES_192 | typeof PIV_ALGORITHM.AES_256;
export type AsymmetricAlgorithm = typeof PIV_ALGORITHM.RSA_1024 | typeof PIV_ALGORITHM.RSA_2048 | typeof PIV_ALGORITHM.ECC_P256 | typeof PIV_ALGORITHM.ECC_P384;

export interface ManagementKeyParameters {
  keyLength: number;
  /** Block size, which is also the challenge and witness length. */
  blockLength: number;
  cipher: 'des-ede3' | 'aes-128-ecb' | 'aes-192-ecb' | 'aes-256-ecb';
}

export const MANAGEMENT_KEY_PARAMETERS: ReadonlyMap<number, ManagementKeyParameters> = new Map([
  [PIV_ALGORITHM.TDES, { keyLength: 24, blockLength: 8, cipher: 'des-ede3' as const }],
  [PIV_ALGORITHM.AES_128, { keyLength: 16, blockLength: 16, cipher: 'aes-128-ecb' as const }],
  [PIV_ALGORITHM.AES_192, { keyLength: 24, blockLength: 16, cipher: 'aes-192-ecb' as const }],
  [PIV_ALGORITHM.AES_256, { keyLength: 32, blockLength: 16, cipher: 'aes-256-ecb' as const }],
]);

export function isManagementKeyAlgorithm(value: number): value is ManagementKeyAlgorithm {
  return MANAGEMENT_KEY_PARAMETERS.has(value);
}

export function isAsymmetricAlgorithm(value: number): value is AsymmetricAlgorithm {
  return value === 0x06 || value === 0x07 || value === 0x11 || value === 0x14;
}

/** The factory management key of YubiKeys before firmware 5.7 (3DES). */
export const DEFAULT_MANAGEMENT_KEY_HEX = '010203040506070801020304050607080102030405060708';
export const DEFAULT_PIN = '123456';
export const DEFAULT_PUK = '12345678';

/** Tags inside the dynamic authentication template (7C) of GENERAL AUTHENTICATE. */
export const DYNAMIC_AUTH = {
  TEMPLATE: 0x7c,
  WITNESS: 0x80,
  CHALLENGE: 0x81,
  RESPONSE: 0x82,
  EXPONENTIATION: 0x85,
} as const;

/** Tags of GET DATA / PUT DATA and of data objects. */
export const PIV_TAG = {
  TAG_LIST: 0x5c,
  DATA: 0x53,
  DISCOVERY: 0x7e,
  PUBLIC_KEY_TEMPLATE: 0x7f49,
  CONTROL_REFERENCE: 0xac,
  ALGORITHM: 0x80,
  PIN_POLICY: 0xaa,
  TOUCH_POLICY: 0xab,
  APPLICATION_TEMPLATE: 0x61,
  APPLICATION_AID: 0x4f,
  COEXISTENT_TAG_ALLOCATION: 0x79,
} as const;

/** Data object identifiers (the BER-TLV tag put in the 5C tag list). */
export const PIV_OBJECT = {
  CAPABILITY: 0x5fc107,
  CHUID: 0x5fc102,
  AUTHENTICATION: 0x5fc105,
  FINGERPRINTS: 0x5fc103,
  SECURITY: 0x5fc106,
  FACIAL: 0x5fc108,
  PRINTED: 0x5fc109,
  SIGNATURE: 0x5fc10a,
  KEY_MANAGEMENT: 0x5fc10b,
  CARD_AUTHENTICATION: 0x5fc101,
  DISCOVERY: 0x7e,
  KEY_HISTORY: 0x5fc10c,
  IRIS: 0x5fc121,
  ATTESTATION: 0x5fff01,
} as const;

/** The certificate object of each key slot. */
export function certificateObjectOfSlot(slot: number): number | undefined {
  switch (slot) {
    case PIV_SLOT.AUTHENTICATION:
      return PIV_OBJECT.AUTHENTICATION;
    case PIV_SLOT.SIGNATURE:
      return PIV_OBJECT.SIGNATURE;
    case PIV_SLOT.KEY_MANAGEMENT:
      return PIV_OBJECT.KEY_MANAGEMENT;
    case PIV_SLOT.CARD_AUTHENTICATION:
      return PIV_OBJECT.CARD_AUTHENTICATION;
    case PIV_SLOT.ATTESTATION:
      return PIV_OBJECT.ATTESTATION;
    default:
      // Retired key management slots 82..95 map to objects 5FC10D..5FC120.
      return slot >= 0x82 && slot <= 0x95 ? 0x5fc10d + (slot - 0x82) : undefined;
  }
}

/** Tags of a certificate object (SP 800-73-4 part 1, appendix A). */
export const CERTIFICATE_TAG = {
  CERTIFICATE: 0x70,
  CERT_INFO: 0x71,
  LRC: 0xfe,
} as const;

/** Tags of the CHUID. */
export const CHUID_TAG = {
  FASCN: 0x30,
  GUID: 0x34,
  EXPIRATION: 0x35,
  SIGNATURE: 0x3e,
  LRC: 0xfe,
} as const;

/** PIN and touch policies of a key slot (YubiKey). */
export const PIN_POLICY = { DEFAULT: 0, NEVER: 1, ONCE: 2, ALWAYS: 3 } as const;
export const TOUCH_POLICY = { DEFAULT: 0, NEVER: 1, ALWAYS: 2, CACHED: 3 } as const;

/** Tags of the GET METADATA answer. */
export const METADATA_TAG = {
  ALGORITHM: 0x01,
  POLICY: 0x02,
  ORIGIN: 0x03,
  PUBLIC_KEY: 0x04,
  IS_DEFAULT: 0x05,
  RETRIES: 0x06,
} as const;

export const KEY_ORIGIN = { GENERATED: 1, IMPORTED: 2 } as const;

/** PIN and PUK values travel padded to 8 bytes with FF. */
export const PIN_BLOCK_LENGTH = 8;
export const PIN_PAD = 0xff;
