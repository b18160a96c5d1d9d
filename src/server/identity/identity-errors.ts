// Errors of holder identity: directory, security questions, one-time codes, e-mail and workstations, each with a stable code.
import { ApiError } from '../api-errors.ts';
import type { TesseraErrorOptions } from '../../errors.ts';

/** The directory (LDAP server) cannot be reached or did not answer in time (503: try again later). */
export class DirectoryUnavailableError extends ApiError {
  readonly statusCode = 503;
  readonly code = 'ERR_DIRECTORY_UNAVAILABLE';
}

/** The directory answered, but not as configured (bad bind account, bad filter): an administrator must fix the settings. */
export class DirectoryConfigurationError extends ApiError {
  readonly statusCode = 500;
  readonly code = 'ERR_DIRECTORY_CONFIGURATION';
}

/** E-mail is off (no SMTP server configured) and the caller asked for something that needs it. */
export class EmailOffError extends ApiError {
  readonly statusCode = 409;
  readonly code = 'ERR_EMAIL_OFF';
}

/** The SMTP server refused or could not be reached. */
export class EmailDeliveryError extends ApiError {
  readonly statusCode = 502;
  readonly code = 'ERR_EMAIL_DELIVERY';
  constructor(message: string, options: TesseraErrorOptions = {}) {
    super(message, options);
  }
}

/** Identity settings in the server configuration are invalid. */
export class IdentityConfigurationError extends ApiError {
  readonly statusCode = 500;
  readonly code = 'ERR_IDENTITY_CONFIGURATION';
}
