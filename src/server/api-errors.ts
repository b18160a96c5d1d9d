// Errors the API answers with: each carries its stable code and the HTTP status it maps to.
import { TesseraError, type TesseraErrorOptions } from '../errors.ts';

export interface ApiErrorDetail {
  code: string;
  message: string;
  path?: string;
}

/** Base of every error that reaches an API client as `{ code, message, details? }`. */
export abstract class ApiError extends TesseraError {
  abstract readonly statusCode: number;
  readonly details: ApiErrorDetail[] | undefined;

  constructor(message: string, options: TesseraErrorOptions & { details?: ApiErrorDetail[] } = {}) {
    super(message, options);
    this.details = options.details;
  }
}

/** The request is well-formed JSON but its content breaks a rule (400). */
export class InvalidRequestError extends ApiError {
  readonly statusCode = 400;
  constructor(
    readonly code: string,
    message: string,
    options: TesseraErrorOptions & { details?: ApiErrorDetail[] } = {},
  ) {
    super(message, options);
  }
}

export class AuthenticationRequiredError extends ApiError {
  readonly statusCode = 401;
  readonly code = 'ERR_AUTH_REQUIRED';
}

export class SignInFailedError extends ApiError {
  readonly statusCode = 401;
  readonly code = 'ERR_AUTH_SIGN_IN_FAILED';
}

export class PermissionDeniedError extends ApiError {
  readonly statusCode = 403;
  readonly code = 'ERR_FORBIDDEN_PERMISSION';
}

/** An operator tried to act on a credential they hold themselves. */
export class OwnCredentialError extends ApiError {
  readonly statusCode = 403;
  readonly code = 'ERR_FORBIDDEN_OWN_CREDENTIAL';
}

export class NotFoundError extends ApiError {
  readonly statusCode = 404;
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** The request conflicts with the current state (busy credential, stale version, lock held by another). */
export class ConflictError extends ApiError {
  readonly statusCode = 409;
  constructor(
    readonly code: string,
    message: string,
    options: TesseraErrorOptions & { details?: ApiErrorDetail[] } = {},
  ) {
    super(message, options);
  }
}
