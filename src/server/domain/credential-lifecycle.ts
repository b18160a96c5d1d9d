// The lifecycle of a credential: its states and the transitions an operator may make between them.
import { ConflictError } from '../api-errors.ts';

export const CREDENTIAL_STATES = ['issued-pin-locked', 'active', 'suspended', 'needs-reissue', 'revoked', 'retired'] as const;
export type CredentialState = (typeof CREDENTIAL_STATES)[number];

// revoked and retired are final: a card that left service comes back only as a new credential.
const TRANSITIONS: Record<CredentialState, readonly CredentialState[]> = {
  'issued-pin-locked': ['active', 'suspended', 'needs-reissue', 'revoked', 'retired'],
  active: ['suspended', 'needs-reissue', 'revoked', 'retired'],
  suspended: ['active', 'needs-reissue', 'revoked', 'retired'],
  'needs-reissue': ['revoked', 'retired'],
  revoked: [],
  retired: [],
};

export function canTransition(from: CredentialState, to: CredentialState): boolean {
  return TRANSITIONS[from].includes(to);
}

export function assertTransition(from: CredentialState, to: CredentialState): void {
  if (!canTransition(from, to)) {
    throw new ConflictError('ERR_CREDENTIAL_INVALID_TRANSITION', `a credential cannot go from ${from} to ${to}`);
  }
}
