import { DEFAULT_REMINDER_THRESHOLDS, dueReminder, nextReminderAt, renewalBackoffMs, renewalTime } from './renewal.policy';

const DAY = 86_400_000;
const at = (iso: string, days = 0) => new Date(Date.parse(iso) + days * DAY);
const NOT_BEFORE = '2026-01-01T00:00:00.000Z';
const NOT_AFTER_40 = at(NOT_BEFORE, 40).toISOString(); // a 40-day certificate

describe('renewal time', () => {
  it.each<[string, object, number]>([
    ['by default, when one third of the lifetime remains', {}, 40 - 40 / 3],
    ['with renewBeforePercentage 10, when a tenth remains', { renewBeforePercentage: 10 }, 36],
    ['with renewBefore of 5 days, five days before expiry', { renewBeforeMs: 5 * DAY }, 35],
    ['renewBefore wins over a percentage', { renewBeforeMs: 2 * DAY, renewBeforePercentage: 50 }, 38],
    ['a renewBefore longer than the lifetime means at once (notBefore)', { renewBeforeMs: 400 * DAY }, 0],
  ])('%s', (_name, policy, dayOfRenewal) => {
    const t = renewalTime({ notBefore: NOT_BEFORE, notAfter: NOT_AFTER_40 }, policy);
    expect((t.getTime() - Date.parse(NOT_BEFORE)) / DAY).toBeCloseTo(dayOfRenewal, 6);
  });
});

describe('expiry reminders (30, 14, 7, 3, 1 days before, then daily)', () => {
  it('fires each threshold exactly once as a 40-day certificate ages one hour at a time', () => {
    const fired: number[] = [];
    let last: number | null = null;
    for (let h = 0; h <= 40 * 24 + 72; h++) {
      const r = dueReminder(NOT_AFTER_40, at(NOT_BEFORE, h / 24), last);
      if (r) {
        fired.push(r.threshold);
        last = r.threshold;
        expect(r.catchUp).toBe(false);
      }
    }
    expect(fired).toEqual([30, 14, 7, 3, 1, 0, -1, -2, -3]);
  });

  it.each<[string, number, number | null, number | null, boolean]>([
    ['nothing is due 31 days before expiry', 9, null, null, false],
    ['the 30-day reminder is due 30 days before expiry', 10, null, 30, false],
    ['nothing more is due once the 30-day reminder was sent', 11, 30, null, false],
    ['after downtime across the 14-day threshold, the 14-day reminder is due once', 27, 30, 14, false],
    ['after downtime across the 14- and 7-day thresholds, only the 7-day reminder fires, as a catch-up', 34, 30, 7, true],
    ['with no reminder ever sent and 2 days left, only the 3-day reminder fires', 38, null, 3, false],
    ['on the day of expiry the reminder is threshold 0', 40.2, 1, 0, false],
    ['five days after expiry after a long outage, one catch-up for that day', 45.5, 1, -5, true],
    ['a day whose reminder was sent gets no second one', 45.9, -5, null, false],
  ])('%s', (_name, day, last, expected, catchUp) => {
    const r = dueReminder(NOT_AFTER_40, at(NOT_BEFORE, day), last);
    expect(r?.threshold ?? null).toBe(expected);
    if (r) expect(r.catchUp).toBe(catchUp);
  });

  it('uses configured thresholds', () => {
    expect(dueReminder(NOT_AFTER_40, at(NOT_BEFORE, 20), null, [21, 2])?.threshold).toBe(21);
    expect(DEFAULT_REMINDER_THRESHOLDS).toEqual([30, 14, 7, 3, 1]);
  });
});

describe('nextReminderAt (the expiry-reminder timer, derived from state only)', () => {
  const D = 86_400_000;
  const cert = { notBefore: '2026-01-01T00:00:00.000Z', notAfter: '2026-02-10T00:00:00.000Z' }; // 40 days
  const at = (daysBeforeExpiry: number) => new Date(Date.parse(cert.notAfter) - daysBeforeExpiry * D).toISOString();

  it.each<[string, number | null, string]>([
    ['nothing sent yet: the 30-day threshold', null, at(30)],
    ['after 30: the 14-day threshold', 30, at(14)],
    ['after a catch-up for 7 (14 skipped): the 3-day threshold', 7, at(3)],
    ['after 1: the day it expires', 1, at(0)],
    ['after the expiry-day reminder: one day later', 0, at(-1)],
    ['after 2 days expired: the third day', -2, at(-3)],
  ])('%s', (_name, last, expected) => {
    expect(nextReminderAt(cert, last).toISOString()).toBe(expected);
  });

  it('skips thresholds before the certificate begins (a 20-day certificate gets no 30-day reminder)', () => {
    const short = { notBefore: '2026-01-21T00:00:00.000Z', notAfter: cert.notAfter };
    expect(nextReminderAt(short, null).toISOString()).toBe(at(14));
  });

  it('at each instant it returns, dueReminder answers that threshold', () => {
    let last: number | null = null;
    const sent: number[] = [];
    for (let i = 0; i < 7; i++) {
      const due: { threshold: number; catchUp: boolean } = dueReminder(cert.notAfter, nextReminderAt(cert, last), last)!;
      sent.push(due.threshold);
      expect(due.catchUp).toBe(false);
      last = due.threshold;
    }
    expect(sent).toEqual([30, 14, 7, 3, 1, 0, -1]);
  });

  it('renewal backoff is 1 h × 2^(n−1), capped at 24 h', () => {
    expect([1, 2, 3, 5, 6, 10].map((n) => renewalBackoffMs(n) / 3_600_000)).toEqual([1, 2, 4, 16, 24, 24]);
  });
});
