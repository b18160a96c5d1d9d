// Where holders come from: the contract both directories (local table, LDAP) fulfil.
import type { Secret } from '../../secret.ts';

export const HOLDER_STATUSES = ['active', 'disabled'] as const;
export type HolderStatus = (typeof HOLDER_STATUSES)[number];

export interface Holder {
  /** The holder id credentials carry (`credentials.holder_id`): the directory username. */
  username: string;
  displayName: string;
  email: string | null;
  status: HolderStatus;
}

export type PasswordCheck = 'valid' | 'invalid' | 'no-such-holder' | 'holder-disabled';

export interface HolderDirectory {
  readonly kind: 'local' | 'ldap';
  /** Exact username lookup; null when the directory has no such holder. */
  findHolder(username: string): Promise<Holder | null>;
  /** Holders whose username, display name or e-mail contains `text` (at most `limit`). */
  searchHolders(text: string, limit: number): Promise<Holder[]>;
  /** Checks the holder's directory password; an empty password is always invalid (LDAP would take it as an anonymous bind). */
  checkPassword(username: string, password: Secret): Promise<PasswordCheck>;
  close(): Promise<void>;
}
