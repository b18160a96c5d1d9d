// What the server needs of the audit log: one append per state change or refusal (AuditLog provides it).
export interface AuditEventInput {
  action: string;
  actor?: string;
  credentialId?: string;
  outcome: 'ok' | 'refused' | 'error';
  reason?: string;
  details?: Record<string, unknown>;
}

export interface AuditTrail {
  append(event: AuditEventInput): Promise<unknown>;
}
