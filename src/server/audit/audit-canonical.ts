// The exact bytes an audit MAC covers, and the canonical JSON of event details (which must never hold a secret).
import { createHmac } from 'node:crypto';
import { Secret } from '../../secret.ts';
import { AuditInputError, AuditSecretInDetailsError } from './audit-errors.ts';

/** The `prev_mac` of the first event. */
export const GENESIS_MAC = '0'.repeat(64);

/** Field names that only ever hold secrets; refusing them catches a secret passed as plain text by mistake. */
const SECRET_FIELD_NAMES = new Set(['pin', 'newpin', 'oldpin', 'puk', 'newpuk', 'password', 'passphrase', 'secret', 'adminkey', 'managementkey', 'masterkey']);
const MAX_DETAILS_LENGTH = 16 * 1024;
const MAX_DEPTH = 8;

export interface CanonicalEventFields {
  seq: number;
  at: string;
  action: string;
  actor: string | null;
  credentialId: string | null;
  outcome: string;
  reason: string | null;
  /** The stored canonical JSON text of the details, or null. */
  details: string | null;
}

function canonicalValue(value: unknown, path: string, depth: number): unknown {
  if (value instanceof Secret) throw new AuditSecretInDetailsError(`audit details ${path} is a Secret; secrets never go into the audit log`);
  if (value instanceof Uint8Array || value instanceof ArrayBuffer) {
    throw new AuditSecretInDetailsError(`audit details ${path} holds raw bytes; pass identifiers as text, never key material`);
  }
  if (depth > MAX_DEPTH) throw new AuditInputError('audit details are nested too deeply');
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new AuditInputError(`audit details ${path} is not a finite number`);
    return value;
  }
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return value.map((item, i) => canonicalValue(item, `${path}[${i}]`, depth + 1));
  if (typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value as object).sort()) {
      const item = (value as Record<string, unknown>)[key];
      if (item === undefined) continue;
      if (SECRET_FIELD_NAMES.has(key.toLowerCase())) throw new AuditSecretInDetailsError(`audit details may not have a "${key}" field (secrets never go into the audit log)`);
      out[key] = canonicalValue(item, `${path}.${key}`, depth + 1);
    }
    return out;
  }
  throw new AuditInputError(`audit details ${path} is not plain JSON data`);
}

/**
 * Canonical JSON of event details: keys sorted at every level, undefined members dropped, Dates as ISO-8601.
 * Refuses Secret instances, raw bytes and secret-named fields. Callers must never pass a PIN, PUK or key in any
 * form; these checks catch mistakes, they do not make it safe to try.
 */
export function canonicalDetails(details: Record<string, unknown> | undefined): string | null {
  if (details === undefined || details === null) return null;
  if (typeof details !== 'object' || Array.isArray(details)) throw new AuditInputError('audit details must be an object');
  const text = JSON.stringify(canonicalValue(details, 'details', 0));
  if (text.length > MAX_DETAILS_LENGTH) throw new AuditInputError(`audit details are longer than ${MAX_DETAILS_LENGTH} characters`);
  return text;
}

/**
 * MAC of one event (hex HMAC-SHA256):
 *   HMAC(auditKey, "tessera-audit/v1\n" || prevMac || "\n" || JSON.stringify([seq, at, action, actor, credentialId, outcome, reason, details]))
 * Covering `seq` and the previous MAC makes every event vouch for its position and for the whole chain before it.
 */
export function eventMac(key: Uint8Array, prevMac: string, fields: CanonicalEventFields): string {
  const body = JSON.stringify([fields.seq, fields.at, fields.action, fields.actor, fields.credentialId, fields.outcome, fields.reason, fields.details]);
  return createHmac('sha256', key).update(`tessera-audit/v1\n${prevMac}\n${body}`).digest('hex');
}

/** MAC of a checkpoint, so that a checkpoint file cannot be forged either. */
export function checkpointMac(key: Uint8Array, seq: number, headMac: string, at: string): string {
  return createHmac('sha256', key).update(`tessera-audit-checkpoint/v1\n${seq}\n${headMac}\n${at}`).digest('hex');
}
