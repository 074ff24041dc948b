import { DomainError } from '../domain-error';
import {
  BUILT_IN_RENEWAL_DEFAULTS,
  decideRenewalDefaults,
  effectiveRenewalPolicy,
  effectiveThresholds,
  evolveRenewalDefaults,
  initialRenewalDefaultsState,
  mergeRenewalDefaults,
  nextImportReminderAt,
} from './renewal-defaults';

const set = (data: Record<string, unknown>) => ({ type: 'SetRenewalDefaults' as const, data, actor: 'admin' });

describe('fleet-wide renewal defaults', () => {
  it('records the whole new setting and what it replaced', () => {
    const [e] = decideRenewalDefaults(set({ reminderThresholds: [7, 21, 7] }), initialRenewalDefaultsState());
    expect(e).toEqual({
      type: 'RenewalDefaultsChanged',
      data: { defaults: { ...BUILT_IN_RENEWAL_DEFAULTS, reminderThresholds: [21, 7] }, previous: BUILT_IN_RENEWAL_DEFAULTS },
    });
    expect(evolveRenewalDefaults(initialRenewalDefaultsState(), e).defaults.reminderThresholds).toEqual([21, 7]);
  });

  it('records nothing when nothing changes (a restart with the same environment)', () => {
    expect(decideRenewalDefaults(set({}), initialRenewalDefaultsState())).toEqual([]);
    expect(decideRenewalDefaults(set({ reminderThresholds: [1, 3, 7, 14, 30], importReminderHours: 72 }), initialRenewalDefaultsState())).toEqual([]);
  });

  it('renewBefore and renewBeforePercentage replace each other; null clears', () => {
    const a = mergeRenewalDefaults(BUILT_IN_RENEWAL_DEFAULTS, { renewBeforeMs: 86_400_000 });
    expect(a).toMatchObject({ renewBeforeMs: 86_400_000, renewBeforePercentage: null });
    const b = mergeRenewalDefaults(a, { renewBeforePercentage: 20 });
    expect(b).toMatchObject({ renewBeforeMs: null, renewBeforePercentage: 20 });
    expect(mergeRenewalDefaults(b, { renewBeforePercentage: null })).toMatchObject({ renewBeforeMs: null, renewBeforePercentage: null });
  });

  it.each<[string, Record<string, unknown>, RegExp]>([
    ['an empty threshold list', { reminderThresholds: [] }, /reminderThresholds/],
    ['a threshold of 0 days', { reminderThresholds: [0] }, /reminderThresholds/],
    ['fractional days', { reminderThresholds: [1.5] }, /reminderThresholds/],
    ['a string', { reminderThresholds: '30,14' }, /reminderThresholds/],
    ['a negative renewBefore', { renewBeforeMs: -1 }, /renewBefore/],
    ['a percentage of 100', { renewBeforePercentage: 100 }, /renewBeforePercentage/],
    ['both at once', { renewBeforeMs: 1000, renewBeforePercentage: 10 }, /not both/],
    ['negative hours', { importReminderHours: -1 }, /importReminderHours/],
    ['an unknown setting', { reminderDays: [3] }, /Unknown renewal setting reminderDays/],
  ])('refuses %s with a message naming it', (_name, data, message) => {
    let error: unknown;
    try {
      decideRenewalDefaults(set(data), initialRenewalDefaultsState());
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(DomainError);
    expect(error).toMatchObject({ code: 'InvalidRenewalDefaults', kind: 'invalid' });
    expect((error as Error).message).toMatch(message);
  });

  it("a certificate's own settings win over the defaults, field group by field group", () => {
    const defaults = { ...BUILT_IN_RENEWAL_DEFAULTS, reminderThresholds: [9], renewBeforeMs: 5 };
    expect(effectiveThresholds({ provider: 'acme' }, defaults)).toEqual([9]);
    expect(effectiveThresholds({ provider: 'acme', reminderThresholds: [2] }, defaults)).toEqual([2]);
    expect(effectiveRenewalPolicy({ provider: 'acme' }, defaults)).toEqual({ renewBeforeMs: 5, renewBeforePercentage: null });
    expect(effectiveRenewalPolicy({ provider: 'acme', renewBeforePercentage: 50 }, defaults)).toEqual({ renewBeforeMs: null, renewBeforePercentage: 50 });
  });

  it('import reminders fall due every importReminderHours after the CSR, and never with 0', () => {
    const since = '2026-01-01T00:00:00.000Z';
    expect(nextImportReminderAt(since, 0, BUILT_IN_RENEWAL_DEFAULTS)?.toISOString()).toBe('2026-01-04T00:00:00.000Z');
    expect(nextImportReminderAt(since, 2, BUILT_IN_RENEWAL_DEFAULTS)?.toISOString()).toBe('2026-01-10T00:00:00.000Z');
    expect(nextImportReminderAt(since, 0, { ...BUILT_IN_RENEWAL_DEFAULTS, importReminderHours: 0 })).toBeNull();
  });
});
