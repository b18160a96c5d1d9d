// Checks a candidate PIN against a template's PIN policy and names every rule it breaks.
import type { Secret } from '../../secret.ts';
import type { PinPolicy } from './credential-template.ts';

export interface PinPolicyViolation {
  code: string;
  message: string;
}

export const PIN_POLICY_CODES = [
  'ERR_POLICY_PIN_TOO_SHORT',
  'ERR_POLICY_PIN_TOO_LONG',
  'ERR_POLICY_PIN_CHARACTERS',
  'ERR_POLICY_PIN_ALL_SAME',
  'ERR_POLICY_PIN_ASCENDING',
  'ERR_POLICY_PIN_DESCENDING',
  'ERR_POLICY_PIN_BLOCKLISTED',
  'ERR_POLICY_PIN_REUSED',
] as const;

// PINs people choose most often that the run rules do not already catch.
const BUILT_IN_BLOCKLIST = new Set([
  '1212', '1122', '1313', '1004', '2000', '2001', '1010', '6969', '4545', '7410',
  '121212', '123123', '112233', '123321', '147258', '159753', '696969', '131313', '789456',
  '102030', '101010', '112211', '520520', '159357', '753951', '147852', '258456', '000123',
  '11223344', '12121212', '12341234', '11112222', '88888888', '19871987', '20202020',
  'password', 'qwerty', 'letmein', 'abc123', 'passw0rd', 'qwertz', 'azerty',
]);

const CHARACTER_SETS: Record<PinPolicy['allowedCharacters'], RegExp> = {
  digits: /^[0-9]*$/,
  alphanumeric: /^[0-9A-Za-z]*$/,
  'printable-ascii': /^[\x20-\x7e]*$/,
};

export interface PinCheckContext {
  /** True when the PIN matches one of the credential's last `historyDepth` PINs (checked by keyed MAC). */
  inHistory?: boolean;
}

/** Every broken rule, in a stable order; an empty list means the PIN is acceptable. */
export function checkPin(policy: PinPolicy, pin: Secret, context: PinCheckContext = {}): PinPolicyViolation[] {
  const text = pin.exposeText();
  const characters = [...text];
  const violations: PinPolicyViolation[] = [];
  const add = (code: (typeof PIN_POLICY_CODES)[number], message: string): void => {
    violations.push({ code, message });
  };
  if (characters.length < policy.minLength) add('ERR_POLICY_PIN_TOO_SHORT', `the PIN needs at least ${policy.minLength} characters`);
  if (characters.length > policy.maxLength) add('ERR_POLICY_PIN_TOO_LONG', `the PIN may have at most ${policy.maxLength} characters`);
  if (!CHARACTER_SETS[policy.allowedCharacters].test(text)) {
    add('ERR_POLICY_PIN_CHARACTERS', `the PIN may only contain ${policy.allowedCharacters}`);
  }
  if (characters.length >= 2) {
    const codes = characters.map((c) => c.codePointAt(0)!);
    const steps = codes.slice(1).map((code, i) => code - codes[i]!);
    if (policy.forbidAllSame && steps.every((s) => s === 0)) add('ERR_POLICY_PIN_ALL_SAME', 'the PIN repeats one character');
    if (policy.forbidSequences && steps.every((s) => s === 1)) add('ERR_POLICY_PIN_ASCENDING', 'the PIN is an ascending run');
    if (policy.forbidSequences && steps.every((s) => s === -1)) add('ERR_POLICY_PIN_DESCENDING', 'the PIN is a descending run');
  }
  const lower = text.toLowerCase();
  if ((policy.useBuiltInBlocklist && BUILT_IN_BLOCKLIST.has(lower)) || policy.blocklist.some((b) => b.toLowerCase() === lower)) {
    add('ERR_POLICY_PIN_BLOCKLISTED', 'the PIN is on the list of common PINs');
  }
  if (context.inHistory === true) add('ERR_POLICY_PIN_REUSED', `the PIN was used within the last ${policy.historyDepth} PINs`);
  return violations;
}
