// Property tests of the PIN policy engine: every broken rule is reported, and only broken rules are.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Secret } from '../../secret.ts';
import type { PinPolicy } from './credential-template.ts';
import { PIN_POLICY_CODES, checkPin } from './pin-policy.ts';

const basePolicy: PinPolicy = {
  minLength: 6,
  maxLength: 8,
  allowedCharacters: 'digits',
  forbidAllSame: true,
  forbidSequences: true,
  useBuiltInBlocklist: true,
  blocklist: ['271828'],
  historyDepth: 5,
  maxAgeDays: 365,
  warningDays: 14,
  pinRetryLimit: 3,
  pukRetryLimit: 3,
};

const codesOf = (pin: string, policy: PinPolicy = basePolicy, inHistory = false): string[] =>
  checkPin(policy, Secret.fromText(pin), { inHistory }).map((v) => v.code);

const policyArbitrary: fc.Arbitrary<PinPolicy> = fc
  .record({
    minLength: fc.integer({ min: 1, max: 16 }),
    span: fc.integer({ min: 0, max: 8 }),
    allowedCharacters: fc.constantFrom('digits' as const, 'alphanumeric' as const, 'printable-ascii' as const),
    forbidAllSame: fc.boolean(),
    forbidSequences: fc.boolean(),
    useBuiltInBlocklist: fc.boolean(),
    blocklist: fc.array(fc.string({ minLength: 1, maxLength: 16 }), { maxLength: 5 }),
  })
  .map(({ span, minLength, ...rest }) => ({ ...basePolicy, ...rest, minLength, maxLength: Math.min(16, minLength + span) }));

describe('checkPin', () => {
  it('names each broken rule with its stable code', () => {
    expect(codesOf('12345')).toEqual(['ERR_POLICY_PIN_TOO_SHORT', 'ERR_POLICY_PIN_ASCENDING']);
    expect(codesOf('123456789')).toEqual(['ERR_POLICY_PIN_TOO_LONG', 'ERR_POLICY_PIN_ASCENDING']);
    expect(codesOf('876543')).toEqual(['ERR_POLICY_PIN_DESCENDING']);
    expect(codesOf('1111')).toEqual(['ERR_POLICY_PIN_TOO_SHORT', 'ERR_POLICY_PIN_ALL_SAME']);
    expect(codesOf('12a45b')).toEqual(['ERR_POLICY_PIN_CHARACTERS']);
    expect(codesOf('123123')).toEqual(['ERR_POLICY_PIN_BLOCKLISTED']);
    expect(codesOf('271828')).toEqual(['ERR_POLICY_PIN_BLOCKLISTED']);
    expect(codesOf('583920', basePolicy, true)).toEqual(['ERR_POLICY_PIN_REUSED']);
    expect(codesOf('583920')).toEqual([]);
  });

  it('reports every rule at once for a PIN that breaks several', () => {
    expect(codesOf('aaa', { ...basePolicy, blocklist: ['aaa'] }, true)).toEqual([
      'ERR_POLICY_PIN_TOO_SHORT',
      'ERR_POLICY_PIN_CHARACTERS',
      'ERR_POLICY_PIN_ALL_SAME',
      'ERR_POLICY_PIN_BLOCKLISTED',
      'ERR_POLICY_PIN_REUSED',
    ]);
  });

  it('only ever returns known codes, each at most once, and never throws', () => {
    fc.assert(
      fc.property(policyArbitrary, fc.string({ maxLength: 24 }), fc.boolean(), (policy, pin, inHistory) => {
        const codes = codesOf(pin, policy, inHistory);
        expect(new Set(codes).size).toBe(codes.length);
        for (const code of codes) expect(PIN_POLICY_CODES).toContain(code);
      }),
    );
  });

  it('flags the length exactly when the PIN is outside the policy bounds', () => {
    fc.assert(
      fc.property(policyArbitrary, fc.stringMatching(/^[0-9]{0,20}$/), (policy, pin) => {
        const codes = codesOf(pin, policy);
        expect(codes.includes('ERR_POLICY_PIN_TOO_SHORT')).toBe(pin.length < policy.minLength);
        expect(codes.includes('ERR_POLICY_PIN_TOO_LONG')).toBe(pin.length > policy.maxLength);
        expect(codes.includes('ERR_POLICY_PIN_CHARACTERS')).toBe(false);
      }),
    );
  });

  it('accepts a PIN that breaks no rule, and the rules it breaks are explained by its shape', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[0-9]{6,8}$/), (pin) => {
        const codes = codesOf(pin);
        const steps = [...pin].slice(1).map((c, i) => c.charCodeAt(0) - pin.charCodeAt(i));
        expect(codes.includes('ERR_POLICY_PIN_ALL_SAME')).toBe(steps.every((s) => s === 0));
        expect(codes.includes('ERR_POLICY_PIN_ASCENDING')).toBe(steps.every((s) => s === 1));
        expect(codes.includes('ERR_POLICY_PIN_DESCENDING')).toBe(steps.every((s) => s === -1));
      }),
    );
  });

  it('never reports run rules when the policy does not forbid them', () => {
    const lenient = { ...basePolicy, forbidAllSame: false, forbidSequences: false, useBuiltInBlocklist: false, blocklist: [] };
    fc.assert(
      fc.property(fc.stringMatching(/^[0-9]{6,8}$/), (pin) => {
        expect(codesOf(pin, lenient)).toEqual([]);
      }),
    );
  });
});
