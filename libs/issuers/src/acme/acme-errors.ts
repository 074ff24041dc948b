/**
 * What can go wrong talking to an ACME CA, and what certflow does about it: a transient failure
 * (network, 5xx, rate limit, an exhausted bad-nonce retry) is retried later, at the CA's
 * Retry-After when it sent one; any other problem document is the CA's final word on the request.
 * Pure: no I/O, the clock comes in.
 */

/** RFC 8555 §6.7 error types are `urn:ietf:params:acme:error:<name>`. */
export const ACME_ERROR_PREFIX = 'urn:ietf:params:acme:error:';

/** The CA answered with an HTTP error (a problem document, RFC 7807, when it sent one). */
export class AcmeProblemError extends Error {
  constructor(
    readonly status: number,
    /** The problem type (`urn:ietf:params:acme:error:rateLimited`), or null without a problem document. */
    readonly type: string | null,
    readonly detail: string,
    /** The raw Retry-After header, if any. */
    readonly retryAfter: string | null,
    readonly url: string,
    readonly subproblems: readonly { type?: string; detail?: string; identifier?: { value?: string } }[] = [],
  ) {
    super(`ACME ${status}${type ? ` ${shortType(type)}` : ''}: ${detail}`);
    this.name = 'AcmeProblemError';
  }
}

/** The CA could not be reached (connection refused, DNS, TLS, timeout). */
export class AcmeNetworkError extends Error {
  constructor(
    readonly code: string | null,
    message: string,
    readonly url: string,
  ) {
    super(`ACME CA unreachable (${code ?? 'network error'}) at ${url}: ${message}`);
    this.name = 'AcmeNetworkError';
  }
}

/** `urn:ietf:params:acme:error:rateLimited` → `rateLimited`; other URIs unchanged. */
export function shortType(type: string): string {
  return type.startsWith(ACME_ERROR_PREFIX) ? type.slice(ACME_ERROR_PREFIX.length) : type;
}

/** Longest wait certflow accepts from a Retry-After header; longer values are treated as this. */
export const MAX_RETRY_AFTER_MS = 7 * 86_400_000;

/**
 * Retry-After (RFC 9110 §10.2.3): delay-seconds or an HTTP-date. Returns when to try again, or
 * null when the header is absent or unreadable. A date in the past means "now".
 */
export function parseRetryAfter(header: string | null | undefined, now: Date): Date | null {
  const value = header?.trim();
  if (!value) return null;
  let at: number;
  if (/^\d+$/.test(value)) {
    at = now.getTime() + Number(value) * 1000;
  } else {
    // Otherwise an HTTP-date, which starts with a day name; "-5" or "1.5" are not valid at all.
    if (!/^[A-Za-z]/.test(value)) return null;
    at = Date.parse(value);
    if (Number.isNaN(at)) return null;
  }
  return new Date(Math.min(Math.max(at, now.getTime()), now.getTime() + MAX_RETRY_AFTER_MS));
}

/** Problem types that are worth retrying later rather than ending the request. */
const TRANSIENT_TYPES = new Set(['rateLimited', 'serverInternal', 'badNonce', 'connection']);

export type AcmeFailure =
  /** Try again later; `retryAt` is the CA's Retry-After when it sent one (else certflow's backoff). */
  | { kind: 'transient'; message: string; retryAt: Date | null }
  /** The CA refused for good; `reason` names the problem type and the CA's detail. */
  | { kind: 'rejected'; reason: string }
  /** Not an ACME failure (a bug, the database): let the caller's error handling decide. */
  | { kind: 'other' };

/**
 * Sorts an error thrown while talking to the CA. Rate limits (429 or `rateLimited`) and server
 * errors (5xx) back off and never fail the request; other problem documents reject it with the
 * CA's reason, subproblems included (one per refused identifier).
 */
export function classifyAcmeFailure(error: unknown, now: Date): AcmeFailure {
  if (error instanceof AcmeNetworkError) return { kind: 'transient', message: error.message, retryAt: null };
  if (!(error instanceof AcmeProblemError)) return { kind: 'other' };
  const type = error.type ? shortType(error.type) : null;
  if (error.status === 429 || error.status >= 500 || (type !== null && TRANSIENT_TYPES.has(type))) {
    const what = error.status === 429 || type === 'rateLimited' ? 'ACME rate limit' : 'ACME CA unavailable';
    return { kind: 'transient', message: `${what} (${error.status}${type ? ` ${type}` : ''}): ${error.detail}`, retryAt: parseRetryAfter(error.retryAfter, now) };
  }
  const details = error.subproblems
    .map((p) => `${p.identifier?.value ? `${p.identifier.value}: ` : ''}${p.detail ?? (p.type ? shortType(p.type) : '')}`)
    .filter(Boolean);
  return { kind: 'rejected', reason: `ACME ${type ?? `HTTP ${error.status}`}: ${error.detail}${details.length ? ` (${details.join('; ')})` : ''}` };
}

/** A problem document's fields, read defensively from an untrusted response body. */
export function readProblem(body: unknown): { type: string | null; detail: string | null; subproblems: AcmeProblemError['subproblems'] } {
  if (!body || typeof body !== 'object') return { type: null, detail: typeof body === 'string' && body ? body.slice(0, 300) : null, subproblems: [] };
  const b = body as { type?: unknown; detail?: unknown; subproblems?: unknown };
  return {
    type: typeof b.type === 'string' ? b.type : null,
    detail: typeof b.detail === 'string' ? b.detail.slice(0, 1000) : null,
    subproblems: Array.isArray(b.subproblems) ? (b.subproblems as AcmeProblemError['subproblems']).slice(0, 20) : [],
  };
}

/** A readable reason from an ACME `error` object on an order, authorization or challenge. */
export function describeAcmeError(error: unknown): string | null {
  if (!error || typeof error !== 'object') return null;
  const { type, detail } = readProblem(error);
  if (!type && !detail) return null;
  return `${type ? shortType(type) : 'error'}: ${detail ?? 'no detail given'}`;
}
