/**
 * A refused command or an invalid input. The code is stable and machine-readable; the
 * message is written for the administrator who sent the command. The API maps `kind` to an
 * HTTP status; the worker records a DomainError as an event and never retries it.
 */
export type DomainErrorKind =
  /** The input itself is malformed or out of range (400). */
  | 'invalid'
  /** The input is well-formed but cannot be processed (422). */
  | 'unprocessable'
  /** The command does not fit the aggregate's current state (409). */
  | 'conflict'
  /** The aggregate does not exist (404). */
  | 'not-found'
  /** The actor is not allowed to do this, whatever its role (403). */
  | 'forbidden';

export class DomainError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly kind: DomainErrorKind = 'conflict',
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'DomainError';
  }
}

export const isDomainError = (e: unknown): e is DomainError => e instanceof DomainError;
