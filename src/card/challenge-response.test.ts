import { describe, expect, it } from 'vitest';
import { Secret } from '../secret.ts';
import { computeUnblockResponse, formatChallengeForDisplay, parseChallengeOrResponse } from './challenge-response.ts';

// Known answers from DESIGN.md section 3 (Windows logon-screen unblock).
const KNOWN_ANSWERS = [
  ['010203040506070801020304050607080102030405060708', '1603EBDF1C8A2E72', 'F940671512CD0DFF'],
  ['010203040506070801020304050607080102030405060708', '0000000000000000', 'B073DC3FB209536D'],
  ['000000000000000000000000000000000000000000000000', '0000000000000000', '8CA64DE9C1B123A7'],
  ['0123456789ABCDEFFEDCBA987654321089ABCDEF01234567', '1603EBDF1C8A2E72', '04F356A004EAFEA4'],
] as const;

describe('computeUnblockResponse', () => {
  it.each(KNOWN_ANSWERS)('key %s, challenge %s → %s', (key, challenge, response) => {
    const answer = computeUnblockResponse(Secret.fromHex(key), parseChallengeOrResponse(challenge));
    expect(Buffer.from(answer).toString('hex').toUpperCase()).toBe(response);
  });

  it('refuses a challenge that is not 8 bytes', () => {
    expect(() => computeUnblockResponse(Secret.fromHex('00'.repeat(24)), new Uint8Array(7))).toThrowError(
      expect.objectContaining({ code: 'ERR_CARD_INVALID_ARGUMENT' }),
    );
  });
});

describe('challenge display', () => {
  it('groups 16 hex digits in fours, as Windows shows them', () => {
    expect(formatChallengeForDisplay(parseChallengeOrResponse('1603 ebdf-1c8a 2e72'))).toBe('1603 EBDF 1C8A 2E72');
  });

  it('refuses text that is not 16 hex digits', () => {
    expect(() => parseChallengeOrResponse('1603 EBDF 1C8A 2E7')).toThrowError(expect.objectContaining({ code: 'ERR_CARD_INVALID_ARGUMENT' }));
    expect(() => parseChallengeOrResponse('1603 EBDF 1C8A 2E7Z')).toThrowError(expect.objectContaining({ code: 'ERR_CARD_INVALID_ARGUMENT' }));
  });
});
