import { DomainError } from '../domain-error';
import {
  RENEWAL_INFO_DEFAULT_CHECK_SECONDS,
  RENEWAL_INFO_MAX_CHECK_SECONDS,
  RENEWAL_INFO_MIN_CHECK_SECONDS,
  SuggestedWindow,
  ariRenewalTime,
  nextRenewalInfoCheck,
  validateSuggestedWindow,
} from './renewal-info.policy';

const HOUR = 3_600_000;
// RFC 9773 §4.2's example window: one day.
const WINDOW: SuggestedWindow = { start: '2025-01-02T04:00:00.000Z', end: '2025-01-03T04:00:00.000Z' };
const at = (hoursAfterStart: number) => new Date(Date.parse(WINDOW.start) + hoursAfterStart * HOUR);

describe('validateSuggestedWindow (RFC 9773 §4.2)', () => {
  it.each<[string, unknown, SuggestedWindow | null]>([
    ['the RFC example', { start: '2025-01-02T04:00:00Z', end: '2025-01-03T04:00:00Z' }, WINDOW],
    ['offsets and fractions, normalized to UTC ISO', { start: '2025-01-02T06:00:00.5+02:00', end: '2025-01-02T23:00:00.123456789-05:00' },
      { start: '2025-01-02T04:00:00.500Z', end: '2025-01-03T04:00:00.123Z' }],
    ['lower-case t and z', { start: '2025-01-02t04:00:00z', end: '2025-01-03t04:00:00z' }, WINDOW],
    ['a leap second', { start: '2016-12-31T23:59:60Z', end: '2017-01-01T04:00:00Z' }, { start: '2017-01-01T00:00:00.000Z', end: '2017-01-01T04:00:00.000Z' }],
    ['extra fields are ignored', { start: WINDOW.start, end: WINDOW.end, note: 'x' }, WINDOW],
    ['end equal to start (invalid, §4.2)', { start: WINDOW.start, end: WINDOW.start }, null],
    ['end before start', { start: WINDOW.end, end: WINDOW.start }, null],
    ['end before start once offsets are applied', { start: '2025-01-02T04:00:00Z', end: '2025-01-02T05:00:00+02:00' }, null],
    ['no start', { end: WINDOW.end }, null],
    ['no end', { start: WINDOW.start }, null],
    ['a number for a timestamp', { start: 1735790400, end: WINDOW.end }, null],
    ['a date without a time', { start: '2025-01-02', end: WINDOW.end }, null],
    ['a timestamp without an offset', { start: '2025-01-02T04:00:00', end: WINDOW.end }, null],
    ['a date Date.parse would accept but RFC 3339 does not', { start: 'Thu, 02 Jan 2025 04:00:00 GMT', end: WINDOW.end }, null],
    ['an impossible date (30 February)', { start: '2025-02-30T00:00:00Z', end: WINDOW.end }, null],
    ['hour 24', { start: '2025-01-01T24:00:00Z', end: WINDOW.end }, null],
    ['an impossible offset', { start: '2025-01-02T04:00:00+24:00', end: WINDOW.end }, null],
    ['garbage text', { start: 'soon', end: 'later' }, null],
    ['null', null, null],
    ['a string', '2025-01-02T04:00:00Z', null],
    ['an array', [WINDOW.start, WINDOW.end], null],
    ['an absurdly long string', { start: `${WINDOW.start}${' '.repeat(10_000)}`, end: WINDOW.end }, null],
  ])('%s', (_name, raw, expected) => {
    expect(validateSuggestedWindow(raw)).toEqual(expected);
  });

  it('never throws, whatever the input', () => {
    const weird: unknown[] = [undefined, 0, NaN, true, Symbol('x'), () => 1, { start: {}, end: [] }, Object.create(null), { get start() { return 'x'; } }];
    for (const raw of weird) expect(() => validateSuggestedWindow(raw)).not.toThrow();
  });
});

describe('ariRenewalTime (RFC 9773 §4.2: a uniform time in the window; if it has passed, now)', () => {
  it.each<[string, Date, number, Date]>([
    ['before the window, random 0 → the window start', at(-48), 0, at(0)],
    ['before the window, random 0.5 → the middle', at(-48), 0.5, at(12)],
    ['before the window, random 0.999 → just before the end', at(-48), 0.999, new Date(Date.parse(WINDOW.start) + Math.floor(0.999 * 24 * HOUR))],
    ['inside the window, a time still ahead is kept', at(6), 0.75, at(18)],
    ['inside the window, a time already passed → now', at(6), 0.1, at(6)],
    ['at the window end → now', at(24), 0.5, at(24)],
    ['after the window → now, whatever the draw', at(30), 0.99, at(30)],
  ])('%s', (_name, now, random, expected) => {
    expect(ariRenewalTime(WINDOW, now, random)).toEqual(expected);
  });

  it('is uniform over the window: equal draws land evenly, never outside [start, end)', () => {
    const now = at(-1);
    const buckets = new Array(24).fill(0);
    for (let i = 0; i < 2400; i++) {
      const t = ariRenewalTime(WINDOW, now, i / 2400).getTime();
      expect(t).toBeGreaterThanOrEqual(Date.parse(WINDOW.start));
      expect(t).toBeLessThan(Date.parse(WINDOW.end));
      buckets[Math.floor((t - Date.parse(WINDOW.start)) / HOUR)]++;
    }
    expect(buckets).toEqual(new Array(24).fill(100));
  });

  it('inside the window, renews now with the elapsed share of draws', () => {
    const now = at(6); // a quarter of the window has passed
    let immediate = 0;
    for (let i = 0; i < 1000; i++) if (ariRenewalTime(WINDOW, now, i / 1000).getTime() === now.getTime()) immediate++;
    expect(immediate).toBe(251); // draws 0 … 0.25 inclusive
  });

  it.each<[string, number, Date]>([
    ['NaN counts as 0', NaN, at(0)],
    ['a negative draw counts as 0', -3, at(0)],
    ['1 or more stays inside the window', 1, new Date(Date.parse(WINDOW.end) - 1)],
  ])('clamps the draw: %s', (_name, random, expected) => {
    expect(ariRenewalTime(WINDOW, at(-1), random)).toEqual(expected);
  });

  it('refuses a window that was not validated', () => {
    expect(() => ariRenewalTime({ start: WINDOW.end, end: WINDOW.start }, at(0), 0.5)).toThrow(DomainError);
    expect(() => ariRenewalTime({ start: 'soon', end: WINDOW.end }, at(0), 0.5)).toThrow(DomainError);
  });
});

describe('nextRenewalInfoCheck (RFC 9773 §4.3: Retry-After, limited to [1 minute, 1 day]; six hours without one)', () => {
  const now = new Date('2026-03-01T12:00:00.000Z');
  it.each<[string, number | null, number]>([
    ['the RFC example, 21600 s → six hours', 21_600, 21_600],
    ['an hour', 3_600, 3_600],
    ['exactly one minute', 60, 60],
    ['under a minute → one minute', 5, RENEWAL_INFO_MIN_CHECK_SECONDS],
    ['zero → one minute', 0, 60],
    ['exactly one day', 86_400, 86_400],
    ['over a day → one day', 7 * 86_400, RENEWAL_INFO_MAX_CHECK_SECONDS],
    ['no Retry-After → six hours', null, RENEWAL_INFO_DEFAULT_CHECK_SECONDS],
    ['a negative value (invalid) → six hours', -10, 21_600],
    ['NaN (invalid) → six hours', NaN, 21_600],
    ['Infinity (invalid) → six hours', Infinity, 21_600],
  ])('%s', (_name, retryAfter, seconds) => {
    expect(nextRenewalInfoCheck(now, retryAfter)).toEqual(new Date(now.getTime() + seconds * 1000));
  });

  it('uses the RFC example limits', () => {
    expect([RENEWAL_INFO_MIN_CHECK_SECONDS, RENEWAL_INFO_MAX_CHECK_SECONDS, RENEWAL_INFO_DEFAULT_CHECK_SECONDS]).toEqual([60, 86_400, 21_600]);
  });
});
