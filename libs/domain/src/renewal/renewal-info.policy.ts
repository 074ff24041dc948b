import { DomainError } from '../domain-error';

/**
 * ACME Renewal Information (ARI, RFC 9773): when the CA suggests renewing, and when to ask it
 * again. Pure: the clock and the randomness come in, so the worker records what was chosen as
 * an event and a replay never rolls the dice again.
 */

/** The CA's suggested renewal window (RFC 9773 §4.2), as ISO 8601 UTC strings. */
export interface SuggestedWindow {
  readonly start: string;
  readonly end: string;
}

/** RFC 3339 date-time (§5.6); Date.parse alone would also take "March 7" or "2026". */
const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?([Zz]|[+-](\d{2}):(\d{2}))$/;

/** Milliseconds since the epoch for an RFC 3339 timestamp, or null (impossible dates included). */
function parseRfc3339(value: unknown): number | null {
  if (typeof value !== 'string' || value.length > 40) return null;
  const m = RFC3339.exec(value);
  if (!m) return null;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number);
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth || hour > 23 || minute > 59 || second > 60) return null;
  if (m[9] !== undefined && (Number(m[9]) > 23 || Number(m[10]) > 59)) return null;
  // A leap second (:60) is valid RFC 3339 that Date.parse refuses: read it as the next second.
  const leap = second === 60;
  const text = value.replace(' ', 'T');
  const ms = Date.parse(leap ? text.replace(/:60(?=[.Zz+-])/, ':59') : text);
  return Number.isNaN(ms) ? null : ms + (leap ? 1000 : 0);
}

/**
 * The `suggestedWindow` of a RenewalInfo response, checked, with both ends as ISO strings; null
 * when it is malformed (not an object, a missing or non-RFC 3339 timestamp) or when `end` is at
 * or before `start`, which RFC 9773 §4.2 calls invalid and clients MUST treat as no answer at
 * all. Never throws: the input is whatever the CA sent.
 */
export function validateSuggestedWindow(raw: unknown): SuggestedWindow | null {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) return null;
  const { start, end } = raw as { start?: unknown; end?: unknown };
  const s = parseRfc3339(start);
  const e = parseRfc3339(end);
  if (s === null || e === null || e <= s) return null;
  return { start: new Date(s).toISOString(), end: new Date(e).toISOString() };
}

/**
 * When to renew, by the algorithm RFC 9773 §4.2 recommends: a uniformly random instant in the
 * window (`random01` in [0, 1) picks it), or `now` if that instant has passed — so a window
 * already over means "renew now", and a window already open renews now with the probability of
 * its elapsed share, else at a uniform time in the rest. Keep the answer while the window stays
 * the same: drawing again at every check would pull renewals towards the window's start.
 * `random01` outside [0, 1) is clamped into it. Throws InvalidRenewalInfo for a window that did
 * not come through validateSuggestedWindow and is invalid.
 */
export function ariRenewalTime(window: SuggestedWindow, now: Date, random01: number): Date {
  const start = parseRfc3339(window.start);
  const end = parseRfc3339(window.end);
  if (start === null || end === null || end <= start) {
    throw new DomainError('InvalidRenewalInfo', 'The suggested renewal window needs RFC 3339 times with end after start.', 'invalid');
  }
  const r = Number.isFinite(random01) ? Math.min(Math.max(random01, 0), 1 - Number.EPSILON) : 0;
  const chosen = start + Math.floor(r * (end - start));
  return new Date(Math.max(chosen, now.getTime()));
}

/** Retry-After below this is read as this (RFC 9773 §4.3.2: "values under one minute could be treated as if they were one minute"). */
export const RENEWAL_INFO_MIN_CHECK_SECONDS = 60;
/** Retry-After above this is read as this (RFC 9773 §4.3.2: "values over one day could be treated as if they were one day"). */
export const RENEWAL_INFO_MAX_CHECK_SECONDS = 86_400;
/**
 * The next check when the CA sent no usable Retry-After: RFC 9773 §4.3.3 lists a missing or
 * invalid Retry-After among the long-term errors, after which the next request is made "as soon
 * as possible after six hours have passed".
 */
export const RENEWAL_INFO_DEFAULT_CHECK_SECONDS = 6 * 3_600;

/**
 * When to fetch the renewal information again. RFC 9773 §4.3.2: as soon as possible after the
 * CA's Retry-After — the interval it wants, not merely a minimum — within limits the client MUST
 * set; certflow's are [1 minute, 1 day], the RFC's own example. No (or a negative or non-finite)
 * Retry-After → six hours (§4.3.3). Callers stop checking once the certificate has expired or
 * been replaced (§4.3, MUST NOT).
 */
export function nextRenewalInfoCheck(now: Date, retryAfterSeconds: number | null): Date {
  const seconds =
    retryAfterSeconds === null || !Number.isFinite(retryAfterSeconds) || retryAfterSeconds < 0
      ? RENEWAL_INFO_DEFAULT_CHECK_SECONDS
      : Math.min(Math.max(retryAfterSeconds, RENEWAL_INFO_MIN_CHECK_SECONDS), RENEWAL_INFO_MAX_CHECK_SECONDS);
  return new Date(now.getTime() + seconds * 1000);
}
