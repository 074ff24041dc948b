/**
 * When to renew a certificate, and which expiry reminder is due. Pure functions of the
 * certificate's dates, the policy and a clock; the renewal issue's worker calls them daily and
 * records what it did as events, so each answer is acted on once.
 */
import { DomainError } from '../domain-error';

const DAY = 86_400_000;

export interface RenewalPolicy {
  /** Renew this long before notAfter (milliseconds). Takes precedence over the percentage. */
  readonly renewBeforeMs?: number | null;
  /** Renew when this share of the lifetime remains (0 < p < 100). */
  readonly renewBeforePercentage?: number | null;
}

/**
 * The instant to renew: `renewBeforeMs` before notAfter, or when `renewBeforePercentage` of the
 * lifetime remains; by default when one third of the lifetime remains (as cert-manager and
 * certbot do). Never before notBefore.
 */
export function renewalTime(cert: { notBefore: string; notAfter: string }, policy: RenewalPolicy = {}): Date {
  const start = Date.parse(cert.notBefore);
  const end = Date.parse(cert.notAfter);
  const lifetime = Math.max(0, end - start);
  let before: number;
  if (policy.renewBeforeMs !== undefined && policy.renewBeforeMs !== null) before = policy.renewBeforeMs;
  else if (policy.renewBeforePercentage !== undefined && policy.renewBeforePercentage !== null) before = (lifetime * policy.renewBeforePercentage) / 100;
  else before = lifetime / 3;
  return new Date(Math.max(start, end - Math.min(before, lifetime)));
}

/** Days before notAfter at which a reminder goes out (Exchange's UM service uses these). */
export const DEFAULT_REMINDER_THRESHOLDS: readonly number[] = [30, 14, 7, 3, 1];

/**
 * A reminder that is due. `threshold` is days before expiry; after expiry the reminders are
 * daily, with thresholds 0, −1, −2, … (days since expiry, negated).
 */
export interface DueReminder {
  readonly threshold: number;
  readonly daysLeft: number;
  /** Some less urgent thresholds were crossed while nobody reminded (certflow was down): this one stands for them. */
  readonly catchUp: boolean;
}

/**
 * The reminder due now, or null. Each threshold fires at most once: `lastThresholdSent` is the
 * most urgent threshold already sent (null if none). When several thresholds were crossed
 * since the last reminder — certflow was down across them — only the most urgent fires, once
 * (a catch-up): never a burst, never nothing.
 */
export function dueReminder(
  notAfter: string,
  now: Date,
  lastThresholdSent: number | null,
  thresholds: readonly number[] = DEFAULT_REMINDER_THRESHOLDS,
): DueReminder | null {
  const msLeft = Date.parse(notAfter) - now.getTime();
  const daysLeft = msLeft / DAY;
  let mostUrgent: number | null;
  if (msLeft <= 0) {
    // Expired: one reminder per day since expiry (0 on the day it expired).
    mostUrgent = -Math.floor(-msLeft / DAY) || 0; // || 0: never -0
  } else {
    const crossed = thresholds.filter((t) => t > 0 && daysLeft <= t);
    mostUrgent = crossed.length ? Math.min(...crossed) : null;
  }
  if (mostUrgent === null) return null;
  if (lastThresholdSent !== null && lastThresholdSent <= mostUrgent) return null;
  const skipped = (msLeft <= 0 ? [...thresholds.filter((t) => t > 0), ...range(mostUrgent + 1, 0)] : thresholds).filter(
    (t) => t > mostUrgent! && (lastThresholdSent === null || t < lastThresholdSent),
  );
  // A threshold only counts as skipped if it was crossed before now, i.e. more urgent ones exist.
  return { threshold: mostUrgent, daysLeft: Math.floor(daysLeft), catchUp: skipped.length > 0 && lastThresholdSent !== null };
}

const range = (from: number, to: number): number[] => {
  const out: number[] = [];
  for (let i = from; i <= to; i++) out.push(i);
  return out;
};

/** The policy fields a certificate's request may carry (absent: the defaults). */
export interface RenewalSettings {
  readonly provider: string;
  readonly autoRenew?: boolean;
  readonly renewBeforeMs?: number | null;
  readonly renewBeforePercentage?: number | null;
  readonly reminderThresholds?: readonly number[] | null;
}

/** autoRenew defaults to true for every provider; for `manual` the renewal is a new request the operator submits. */
export const autoRenewOf = (r: RenewalSettings): boolean => r.autoRenew ?? true;

/**
 * When the next expiry reminder falls due, from the certificate's dates and the last threshold
 * sent only (so the timers projection stays rebuildable from events). Thresholds that fall before
 * notBefore are skipped (a 20-day certificate gets no 30-day reminder); after the last positive
 * threshold come the daily ones from notAfter on (threshold 0, −1, …).
 */
export function nextReminderAt(
  cert: { notBefore: string; notAfter: string },
  lastThresholdSent: number | null,
  thresholds: readonly number[] = DEFAULT_REMINDER_THRESHOLDS,
): Date {
  const start = Date.parse(cert.notBefore);
  const end = Date.parse(cert.notAfter);
  const pending = thresholds
    .filter((t) => t > 0 && (lastThresholdSent === null || t < lastThresholdSent))
    .sort((a, b) => b - a)
    .find((t) => end - t * DAY > start);
  if (pending !== undefined) return new Date(end - pending * DAY);
  const nextDaily = lastThresholdSent === null || lastThresholdSent > 0 ? 0 : lastThresholdSent - 1;
  return new Date(end - nextDaily * DAY);
}

/**
 * Backoff after a failed renewal (cert-manager's): 1 h × 2^(n−1), capped at 24 h.
 */
export const renewalBackoffMs = (attempt: number): number => Math.min(24 * 3_600_000, 3_600_000 * 2 ** Math.max(0, attempt - 1));

/**
 * `renewBefore`: a number of days, or an ISO 8601 duration of weeks, days, hours, minutes
 * (P30D, P2W, PT12H, P1DT6H). Months and years are refused: their length is ambiguous.
 */
export function parseRenewBefore(value: unknown): number {
  if (typeof value === 'number') {
    if (Number.isFinite(value) && value > 0 && value <= 3650) return Math.round(value * DAY);
  } else if (typeof value === 'string') {
    const m = /^P(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?)?$/.exec(value.trim().toUpperCase());
    if (m && value.trim().length > 1 && !/T$/i.test(value.trim())) {
      const ms = (Number(m[1] ?? 0) * 7 + Number(m[2] ?? 0)) * DAY + Number(m[3] ?? 0) * 3_600_000 + Number(m[4] ?? 0) * 60_000;
      if (ms > 0 && ms <= 3650 * DAY) return ms;
    }
  }
  throw new DomainError(
    'InvalidRenewBefore',
    'renewBefore must be a number of days (up to 3650) or an ISO 8601 duration such as P30D, P2W or PT12H.',
    'invalid',
  );
}
