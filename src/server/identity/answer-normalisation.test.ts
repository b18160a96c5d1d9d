// Security-question answers compare without regard to case, spacing or accents.
import { describe, expect, it } from 'vitest';
import { normaliseAnswer } from './answer-normalisation.ts';

describe('normaliseAnswer', () => {
  it('ignores case, spacing and accents, and folds compatibility forms', () => {
    expect(normaliseAnswer('  École   Sainte-Thérèse ')).toBe('ecole sainte-therese');
    expect(normaliseAnswer('ZÜRICH')).toBe(normaliseAnswer('zurich'));
    expect(normaliseAnswer('ﬁancé\tPÉRE')).toBe('fiance pere');
  });
});
