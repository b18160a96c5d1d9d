// The card types Tessera manages and the limits each one's card imposes on a PIN policy.
export const CARD_TYPES = ['piv', 'gids'] as const;
export type CardType = (typeof CARD_TYPES)[number];

export interface CardTypeLimits {
  pinLength: { min: number; max: number };
  /** Whether the card has a PUK (PIV) or is unblocked with its admin key only (GIDS). */
  hasPuk: boolean;
  retryLimit: { min: number; max: number };
}

// PIV: PIN is 6..8 bytes (SP 800-73-4); GIDS: 4..16 ASCII characters (the minidriver's bounds).
export const CARD_TYPE_LIMITS: Record<CardType, CardTypeLimits> = {
  piv: { pinLength: { min: 6, max: 8 }, hasPuk: true, retryLimit: { min: 1, max: 15 } },
  gids: { pinLength: { min: 4, max: 16 }, hasPuk: false, retryLimit: { min: 1, max: 15 } },
};
