// ISO 7816-4 status words used by Tessera's cards and sessions, with their names.

export const SW = {
  SUCCESS: 0x9000,
  /** `61xx`: xx more response bytes are waiting for GET RESPONSE. */
  BYTES_REMAINING: 0x6100,
  /** `63Cx`: verification failed, x tries left. */
  VERIFY_FAILED: 0x63c0,
  /** `6Cxx`: wrong Le, xx is the right one. */
  WRONG_LE: 0x6c00,
  MEMORY_FAILURE: 0x6581,
  WRONG_LENGTH: 0x6700,
  LOGICAL_CHANNEL_NOT_SUPPORTED: 0x6881,
  SECURE_MESSAGING_NOT_SUPPORTED: 0x6882,
  LAST_COMMAND_OF_CHAIN_EXPECTED: 0x6883,
  COMMAND_CHAINING_NOT_SUPPORTED: 0x6884,
  COMMAND_INCOMPATIBLE: 0x6981,
  SECURITY_STATUS_NOT_SATISFIED: 0x6982,
  AUTH_METHOD_BLOCKED: 0x6983,
  REFERENCE_DATA_NOT_USABLE: 0x6984,
  CONDITIONS_NOT_SATISFIED: 0x6985,
  COMMAND_NOT_ALLOWED: 0x6986,
  INCORRECT_DATA: 0x6a80,
  FUNCTION_NOT_SUPPORTED: 0x6a81,
  FILE_NOT_FOUND: 0x6a82,
  RECORD_NOT_FOUND: 0x6a83,
  NOT_ENOUGH_MEMORY: 0x6a84,
  INCORRECT_P1P2: 0x6a86,
  REFERENCE_NOT_FOUND: 0x6a88,
  FILE_ALREADY_EXISTS: 0x6a89,
  WRONG_P1P2: 0x6b00,
  INS_NOT_SUPPORTED: 0x6d00,
  CLA_NOT_SUPPORTED: 0x6e00,
  NO_PRECISE_DIAGNOSIS: 0x6f00,
} as const;

const NAMES: ReadonlyMap<number, string> = new Map([
  [SW.SUCCESS, 'success'],
  [SW.MEMORY_FAILURE, 'memory failure'],
  [SW.WRONG_LENGTH, 'wrong length'],
  [SW.LOGICAL_CHANNEL_NOT_SUPPORTED, 'logical channel not supported'],
  [SW.SECURE_MESSAGING_NOT_SUPPORTED, 'secure messaging not supported'],
  [SW.LAST_COMMAND_OF_CHAIN_EXPECTED, 'last command of the chain expected'],
  [SW.COMMAND_CHAINING_NOT_SUPPORTED, 'command chaining not supported'],
  [SW.COMMAND_INCOMPATIBLE, 'command incompatible with file structure'],
  [SW.SECURITY_STATUS_NOT_SATISFIED, 'security status not satisfied'],
  [SW.AUTH_METHOD_BLOCKED, 'authentication method blocked'],
  [SW.REFERENCE_DATA_NOT_USABLE, 'reference data not usable'],
  [SW.CONDITIONS_NOT_SATISFIED, 'conditions of use not satisfied'],
  [SW.COMMAND_NOT_ALLOWED, 'command not allowed'],
  [SW.INCORRECT_DATA, 'incorrect parameters in the data field'],
  [SW.FUNCTION_NOT_SUPPORTED, 'function not supported'],
  [SW.FILE_NOT_FOUND, 'file or application not found'],
  [SW.RECORD_NOT_FOUND, 'record not found'],
  [SW.NOT_ENOUGH_MEMORY, 'not enough memory'],
  [SW.INCORRECT_P1P2, 'incorrect P1 or P2'],
  [SW.REFERENCE_NOT_FOUND, 'referenced data not found'],
  [SW.FILE_ALREADY_EXISTS, 'file already exists'],
  [SW.WRONG_P1P2, 'wrong P1 or P2'],
  [SW.INS_NOT_SUPPORTED, 'instruction not supported'],
  [SW.CLA_NOT_SUPPORTED, 'class not supported'],
  [SW.NO_PRECISE_DIAGNOSIS, 'no precise diagnosis'],
]);

export function formatStatusWord(sw: number): string {
  return sw.toString(16).toUpperCase().padStart(4, '0');
}

/** `6A82 (file or application not found)`; ranges such as `63Cx` are named too. */
export function describeStatusWord(sw: number): string {
  const hex = formatStatusWord(sw);
  const name = NAMES.get(sw);
  if (name) return `${hex} (${name})`;
  if ((sw & 0xfff0) === SW.VERIFY_FAILED) return `${hex} (verification failed, ${sw & 0x0f} tries left)`;
  if ((sw & 0xff00) === SW.BYTES_REMAINING) return `${hex} (response bytes remaining)`;
  if ((sw & 0xff00) === SW.WRONG_LE) return `${hex} (wrong Le)`;
  return hex;
}

/** Tries left encoded in a `63Cx` status word, or undefined if it is not one. */
export function triesLeftFromStatusWord(sw: number): number | undefined {
  if ((sw & 0xfff0) === SW.VERIFY_FAILED) return sw & 0x0f;
  // 6300 (failed, no counter) and other 63xx carry no count of tries.
  return undefined;
}
