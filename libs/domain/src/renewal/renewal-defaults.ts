import { DomainError } from '../domain-error';
import type { ExistingCertificateState } from '../certificate/certificate.decider';
import { DEFAULT_REMINDER_THRESHOLDS, RenewalPolicy, RenewalSettings, renewalTime } from './renewal.policy';

/**
 * The fleet-wide renewal defaults: what a certificate without its own setting follows. They are
 * events in one stream, `settings-renewal-defaults`, so that a change is audited (who, when, from
 * what to what) and the timers of every certificate can be rebuilt from the log alone: the timers
 * projection applies each change to every certificate that has no setting of its own.
 *
 * Set at start from the environment (actor `config`, only when it differs from what is recorded)
 * or with `PUT /settings/renewal` (admin).
 */
export interface RenewalDefaults {
  /** Expiry reminders, in days before notAfter (then daily after expiry). */
  readonly reminderThresholds: readonly number[];
  /** Renew this long before notAfter (ms); null: use the percentage. */
  readonly renewBeforeMs: number | null;
  /** Renew when this share of the lifetime remains; null with renewBeforeMs null: one third. */
  readonly renewBeforePercentage: number | null;
  /**
   * A manual request whose certificate has not been imported this many hours after its CSR was
   * made is reminded (and again every as many hours) — the "stalled import" reminder. 0: never.
   */
  readonly importReminderHours: number;
}

/** What certflow does with no setting anywhere (the and cert-manager's defaults). */
export const BUILT_IN_RENEWAL_DEFAULTS: RenewalDefaults = {
  reminderThresholds: DEFAULT_REMINDER_THRESHOLDS,
  renewBeforeMs: null,
  renewBeforePercentage: null,
  importReminderHours: 72,
};

export const RENEWAL_DEFAULTS_STREAM = 'settings-renewal-defaults';

export type RenewalDefaultsEvent =
  /**
   * The fleet-wide defaults changed. `defaults` is the whole new setting (not a patch), `previous`
   * what it replaced; the actor in the metadata is `config` when the environment set it at start.
   */
  { type: 'RenewalDefaultsChanged'; data: { defaults: RenewalDefaults; previous: RenewalDefaults } };

export const RENEWAL_DEFAULTS_EVENT_SCHEMA_VERSIONS: Record<RenewalDefaultsEvent['type'], number> = {
  RenewalDefaultsChanged: 1,
};

export type RenewalDefaultsState = { readonly defaults: RenewalDefaults };

export const initialRenewalDefaultsState = (): RenewalDefaultsState => ({ defaults: BUILT_IN_RENEWAL_DEFAULTS });

/** Replace the defaults; fields left out keep their current value. */
export type RenewalDefaultsCommand = { type: 'SetRenewalDefaults'; data: Partial<Record<keyof RenewalDefaults, unknown>>; actor: string };

const invalid = (message: string) => new DomainError('InvalidRenewalDefaults', message, 'invalid');

/** The new defaults, checked field by field; an error names the field. */
export function mergeRenewalDefaults(current: RenewalDefaults, patch: Partial<Record<keyof RenewalDefaults, unknown>>): RenewalDefaults {
  const known = new Set(Object.keys(BUILT_IN_RENEWAL_DEFAULTS));
  const unknown = Object.keys(patch).filter((k) => !known.has(k));
  if (unknown.length) throw invalid(`Unknown renewal setting ${unknown.join(', ')}; known: ${[...known].join(', ')}.`);
  const next = { ...current } as { -readonly [K in keyof RenewalDefaults]: RenewalDefaults[K] };
  if (patch.reminderThresholds !== undefined) {
    const t = patch.reminderThresholds;
    if (!Array.isArray(t) || t.length === 0 || t.length > 20 || t.some((d) => !Number.isInteger(d) || d < 1 || d > 3650)) {
      throw invalid('reminderThresholds must be 1 to 20 whole numbers of days from 1 to 3650.');
    }
    next.reminderThresholds = [...new Set(t as number[])].sort((a, b) => b - a);
  }
  if (patch.renewBeforeMs !== undefined) {
    const v = patch.renewBeforeMs;
    if (v !== null && !(typeof v === 'number' && Number.isFinite(v) && v > 0)) throw invalid('renewBefore must be a positive duration, or null.');
    next.renewBeforeMs = v as number | null;
    if (v !== null && patch.renewBeforePercentage === undefined) next.renewBeforePercentage = null;
  }
  if (patch.renewBeforePercentage !== undefined) {
    const p = patch.renewBeforePercentage;
    if (p !== null && !(typeof p === 'number' && Number.isFinite(p) && p > 0 && p < 100)) {
      throw invalid('renewBeforePercentage must be a number between 0 and 100 (exclusive), or null.');
    }
    next.renewBeforePercentage = p as number | null;
    if (p !== null && patch.renewBeforeMs === undefined) next.renewBeforeMs = null;
  }
  if (next.renewBeforeMs !== null && next.renewBeforePercentage !== null) throw invalid('Give renewBefore or renewBeforePercentage, not both.');
  if (patch.importReminderHours !== undefined) {
    const h = patch.importReminderHours;
    if (!(typeof h === 'number' && Number.isInteger(h) && h >= 0 && h <= 24 * 365)) {
      throw invalid('importReminderHours must be a whole number of hours from 0 (never) to 8760.');
    }
    next.importReminderHours = h;
  }
  return next;
}

const same = (a: RenewalDefaults, b: RenewalDefaults): boolean =>
  a.renewBeforeMs === b.renewBeforeMs &&
  a.renewBeforePercentage === b.renewBeforePercentage &&
  a.importReminderHours === b.importReminderHours &&
  a.reminderThresholds.length === b.reminderThresholds.length &&
  a.reminderThresholds.every((t, i) => t === b.reminderThresholds[i]);

/** No event when nothing changes, so restarting with the same environment records nothing. */
export function decideRenewalDefaults(command: RenewalDefaultsCommand, state: RenewalDefaultsState): RenewalDefaultsEvent[] {
  const next = mergeRenewalDefaults(state.defaults, command.data);
  if (same(next, state.defaults)) return [];
  return [{ type: 'RenewalDefaultsChanged', data: { defaults: next, previous: state.defaults } }];
}

export function evolveRenewalDefaults(_state: RenewalDefaultsState, event: RenewalDefaultsEvent): RenewalDefaultsState {
  return { defaults: event.data.defaults };
}

/**
 * The renewal timing a certificate follows: its own renewBefore/renewBeforePercentage if it has
 * one, else the fleet-wide default.
 */
export function effectiveRenewalPolicy(r: RenewalSettings, defaults: RenewalDefaults = BUILT_IN_RENEWAL_DEFAULTS): RenewalPolicy {
  if (r.renewBeforeMs != null || r.renewBeforePercentage != null) {
    return { renewBeforeMs: r.renewBeforeMs ?? null, renewBeforePercentage: r.renewBeforePercentage ?? null };
  }
  return { renewBeforeMs: defaults.renewBeforeMs, renewBeforePercentage: defaults.renewBeforePercentage };
}

/** The reminder thresholds a certificate follows: its own, else the fleet-wide default. */
export function effectiveThresholds(r: RenewalSettings, defaults: RenewalDefaults = BUILT_IN_RENEWAL_DEFAULTS): readonly number[] {
  return r.reminderThresholds && r.reminderThresholds.length ? r.reminderThresholds : defaults.reminderThresholds;
}

/**
 * When the next stalled-import reminder is due: `importReminderHours` after the CSR was made,
 * then every as many hours; null when they are off.
 */
export function nextImportReminderAt(waitingSince: string, remindersSent: number, defaults: RenewalDefaults): Date | null {
  if (!defaults.importReminderHours) return null;
  return new Date(Date.parse(waitingSince) + (remindersSent + 1) * defaults.importReminderHours * 3_600_000);
}

/**
 * When an Issued certificate is renewed automatically: the time certflow chose inside the ACME
 * CA's suggested window when there is one, else its renewal policy (its own, or the fleet-wide
 * default); never before the retry time of a failed renewal.
 */
export function plannedRenewalAt(
  s: Extract<ExistingCertificateState, { state: 'Issued' }>,
  defaults: RenewalDefaults = BUILT_IN_RENEWAL_DEFAULTS,
): Date {
  const at = s.renewalInfo?.renewAt ? Date.parse(s.renewalInfo.renewAt) : renewalTime(s.certificate, effectiveRenewalPolicy(s.request, defaults)).getTime();
  const retry = s.renewalRetryAt ? Date.parse(s.renewalRetryAt) : 0;
  return new Date(Math.max(at, retry));
}

