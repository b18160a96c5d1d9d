// The credential lifecycle: allowed moves pass, every other move is refused with ERR_CREDENTIAL_INVALID_TRANSITION.
import { describe, expect, it } from 'vitest';
import { CREDENTIAL_STATES, assertTransition, canTransition } from './credential-lifecycle.ts';

describe('credential lifecycle', () => {
  it('keeps revoked and retired final and never allows staying in place', () => {
    for (const to of CREDENTIAL_STATES) {
      expect(canTransition('revoked', to)).toBe(false);
      expect(canTransition('retired', to)).toBe(false);
    }
    for (const state of CREDENTIAL_STATES) expect(canTransition(state, state)).toBe(false);
  });

  it('allows suspension and reinstatement but not a return to issued-pin-locked', () => {
    expect(canTransition('active', 'suspended')).toBe(true);
    expect(canTransition('suspended', 'active')).toBe(true);
    expect(canTransition('needs-reissue', 'active')).toBe(false);
    for (const from of CREDENTIAL_STATES) expect(canTransition(from, 'issued-pin-locked')).toBe(false);
  });

  it('refuses an invalid move with a stable code', () => {
    expect(() => assertTransition('retired', 'active')).toThrow(expect.objectContaining({ code: 'ERR_CREDENTIAL_INVALID_TRANSITION', statusCode: 409 }));
  });
});
