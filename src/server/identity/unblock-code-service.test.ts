// One-time unblock codes are easy to read out and forgiving to type.
import { describe, expect, it } from 'vitest';
import { generateUnblockCode, normaliseUnblockCode } from './unblock-code-service.ts';

describe('unblock code format', () => {
  it('generates XXXXX-XXXXX from a Crockford alphabet without I, L, O, U, and no two alike in practice', () => {
    const codes = Array.from({ length: 200 }, generateUnblockCode);
    for (const code of codes) expect(code).toMatch(/^[0-9A-HJKMNP-TV-Z]{5}-[0-9A-HJKMNP-TV-Z]{5}$/);
    expect(new Set(codes).size).toBe(codes.length);
  });

  it('accepts any case, spaces and dashes, O for zero and I or L for one', () => {
    expect(normaliseUnblockCode(' ab0c1-de2f3 ')).toBe('AB0C1DE2F3');
    expect(normaliseUnblockCode('abOcI-de2fL')).toBe('AB0C1DE2F1');
  });
});
