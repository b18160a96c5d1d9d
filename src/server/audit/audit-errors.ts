// The audit log's errors, each with a stable code.
import { TesseraError } from '../../errors.ts';

/** An event that cannot be recorded as given: missing or oversize fields, non-JSON details. */
export class AuditInputError extends TesseraError {
  readonly code = 'ERR_AUDIT_INPUT';
}

/** Event details held a secret (a Secret, raw bytes, or a field named like a PIN/PUK/key): refused, nothing written. */
export class AuditSecretInDetailsError extends TesseraError {
  readonly code = 'ERR_AUDIT_SECRET_IN_DETAILS';
}

/** A checkpoint could not be written outside the database. */
export class AuditCheckpointError extends TesseraError {
  readonly code = 'ERR_AUDIT_CHECKPOINT';
}
