import {
  DomainError,
  RenewalInfo,
  ariRenewalTime,
  autoRenewOf,
  dueReminder,
  effectiveThresholds,
  isDomainError,
  nextImportReminderAt,
  nextRenewalInfoCheck,
  plannedRenewalAt,
  renewalBackoffMs,
} from '../../../domain/src';
import {
  Clock,
  ConcurrencyError,
  EventMetadata,
  EventStore,
  IssueOutcome,
  Issuer,
  KeyService,
  Notifier,
  RecordedEvent,
  RenewalInfoSource,
  TransientIssuerError,
} from '../ports';
import { loadRenewalDefaults } from '../settings/renewal-defaults.handler';
import { deterministicRenewalId, startRenewal } from './renewal.handler';

/** How long a request may wait for approval, and how often approvers are reminded. */
export interface ApprovalPolicy {
  timeoutDays: number;
  remindEveryHours: number;
}
export const DEFAULT_APPROVAL_POLICY: ApprovalPolicy = { timeoutDays: 14, remindEveryHours: 24 };

/**
 * Backoff before retrying a failed step: 30 s × 2^(n−1), capped at 6 hours, with ±50 % jitter
 * so that many certificates failing together (a CA outage) do not retry in lock step.
 */
export function backoffMs(attempt: number, random: () => number = Math.random): number {
  const base = Math.min(6 * 3_600_000, 30_000 * 2 ** Math.max(0, attempt - 1));
  return Math.round(base * (0.5 + random()));
}
import { handleCertificateCommand, loadCertificate } from './certificate-commands';

/** A CA without renewal information is asked again after a week (it may start publishing it). */
export const RENEWAL_INFO_UNSUPPORTED_RECHECK_MS = 7 * 86_400_000;

/** When the last event of this type was recorded (what a person has been waiting since), if any. */
const lastEventAt = (events: readonly RecordedEvent[], type: string): string | undefined =>
  [...events].reverse().find((e) => e.type === type)?.metadata.at;

/**
 * The number of the reminder to send now, every `everyHours` since `waitingSince`: after an outage
 * (or a jump of the test clock) several may be overdue; one goes out, numbered by the time that has
 * passed, so that the next one falls in the future — no burst.
 */
const overdueReminderNumber = (waitingSince: string, now: Date, everyHours: number, sent: number): number =>
  Math.max(sent + 1, Math.floor((now.getTime() - Date.parse(waitingSince)) / (everyHours * 3_600_000)));

/** The actor name of events the worker appends. */
export const WORKER_ACTOR = 'certflow-worker';

export interface WorkContext {
  certificateId: string;
  causationId: string;
  correlationId: string;
}

/** What a job did; `skipped` means the work was no longer wanted (already done, or the state moved on). */
export type WorkResult = { outcome: 'done' | 'skipped'; detail: string };

/**
 * The worker's steps. Each is idempotent: load, check the work is still wanted, act, append with
 * the expected version. A second run of the same job finds the state moved on and does nothing.
 */
export class CertificateWorkHandler {
  constructor(
    private readonly store: EventStore,
    private readonly keys: KeyService,
    private readonly issuers: ReadonlyMap<string, Issuer>,
    private readonly clock: Clock,
    private readonly approvalPolicy: ApprovalPolicy = DEFAULT_APPROVAL_POLICY,
    /** Tells people something happened (a log line until notification channels exist). */
    private readonly notify?: (n: { kind: string; certificateId: string; [k: string]: unknown }) => void,
    /** Delivers expiry reminders through the configured channels (webhook, e-mail, log). */
    private readonly notifier?: Notifier,
    /** The ACME CA's renewal information (RFC 9773), when an ACME CA is configured. */
    private readonly renewalInfo?: RenewalInfoSource,
    /** Where in the CA's suggested window to renew: uniform in [0, 1). */
    private readonly random: () => number = Math.random,
  ) {}

  private metadata(ctx: WorkContext): EventMetadata {
    return { actor: WORKER_ACTOR, at: this.clock.now().toISOString(), correlationId: ctx.correlationId, causationId: ctx.causationId };
  }

  /**
   * Requested → RequestGenerated: a key in the vault (id = certificate id) and a CSR. A renewal
   * with `reuseKey` names the old certificate's key instead, and its CSR is signed with that.
   */
  async generateRequest(ctx: WorkContext): Promise<WorkResult> {
    const { state } = await loadCertificate(this.store, ctx.certificateId);
    if (state.state !== 'Requested') return { outcome: 'skipped', detail: `state is ${state.state}` };
    const keyId = state.request.keyId ?? ctx.certificateId;
    // createCsr generates and vaults the key on first use and reuses it on a retry.
    const csrPem = await this.keys.createCsr(keyId, state.request.key, state.request.subject, state.request.domainNames);
    return this.append(ctx, { type: 'RecordRequestGenerated', data: { keyId, csrPem }, actor: WORKER_ACTOR });
  }

  /**
   * RequestGenerated/Submitted → the next step of the certificate's provider: issued, still
   * pending at the CA (polled again on a durable timer), waiting for approval, or rejected. A
   * transient failure is recorded with the time of the next attempt (backoff with jitter, or
   * the CA's Retry-After), which becomes a durable timer too.
   */
  async issueCertificate(ctx: WorkContext): Promise<WorkResult> {
    const { state } = await loadCertificate(this.store, ctx.certificateId);
    if (state.state !== 'RequestGenerated' && state.state !== 'Submitted') {
      return { outcome: 'skipped', detail: `state is ${state.state}` };
    }
    const issuer = this.issuers.get(state.request.provider);
    if (!issuer) {
      // manual: the operator submits the CSR and imports the certificate; nothing to do here.
      return { outcome: 'skipped', detail: `provider ${state.request.provider} has no automatic issuer` };
    }
    let outcome: IssueOutcome;
    try {
      outcome = await issuer.issue({
        certificateId: ctx.certificateId,
        request: state.request,
        keyId: state.keyId,
        csrPem: state.csrPem,
        now: this.clock.now(),
        orderId: state.state === 'Submitted' ? state.orderId : null,
        approvals: state.state === 'Submitted' ? state.approvals : [],
      });
    } catch (e) {
      if (!(e instanceof TransientIssuerError)) throw e;
      const attempt = state.failedAttempts + 1;
      const retryAt = e.retryAt ?? new Date(this.clock.now().getTime() + backoffMs(attempt));
      return this.recordTransientFailure(ctx, 'issue-certificate', e.message, retryAt);
    }
    const actor = WORKER_ACTOR;
    switch (outcome.kind) {
      case 'issued': {
        const facts = await this.keys.certificateFacts(outcome.certificatePem);
        return this.append(ctx, { type: 'RecordIssued', data: { ...facts, certificatePem: outcome.certificatePem, chainPem: outcome.chainPem }, actor });
      }
      case 'pending': {
        if (state.state === 'RequestGenerated') {
          const submitted = await this.append(ctx, { type: 'SubmitRequest', data: { orderId: outcome.orderId }, actor });
          if (submitted.outcome !== 'done') return submitted;
        }
        return this.append(ctx, { type: 'RecordOrderPolled', data: { status: outcome.status, nextAttemptAt: outcome.retryAt.toISOString() }, actor });
      }
      case 'approval-required': {
        if (state.state === 'RequestGenerated') {
          const submitted = await this.append(ctx, { type: 'SubmitRequest', data: { orderId: null }, actor });
          if (submitted.outcome !== 'done') return submitted;
        }
        const now = this.clock.now().getTime();
        const asked = await this.append(ctx, {
          type: 'RequireApproval',
          data: {
            approvalsRequired: outcome.approvalsRequired,
            expiresAt: new Date(now + this.approvalPolicy.timeoutDays * 86_400_000).toISOString(),
            remindEveryHours: this.approvalPolicy.remindEveryHours,
          },
          actor,
        });
        if (asked.outcome === 'done') {
          this.notify?.({ kind: 'approval-requested', certificateId: ctx.certificateId, approvalsRequired: outcome.approvalsRequired, requestedBy: state.requestedBy, provider: state.request.provider });
        }
        return asked;
      }
      case 'rejected':
        return this.append(ctx, { type: 'RejectRequest', data: { reason: outcome.reason }, actor });
    }
  }

  /**
   * A durable timer came due: retry or poll (next-attempt), remind approvers, or reject a request
   * nobody approved in time. The scheduler only fires timers that are due by certflow's clock,
   * so the handler acts on the state alone.
   */
  async fireTimer(ctx: WorkContext & { kind: string }): Promise<WorkResult> {
    const { state, events } = await loadCertificate(this.store, ctx.certificateId);
    switch (ctx.kind) {
      case 'next-attempt':
        if (state.state === 'Requested') return this.generateRequest(ctx);
        if (state.state === 'RequestGenerated' || state.state === 'Submitted') return this.issueCertificate(ctx);
        return { outcome: 'skipped', detail: `state is ${state.state}` };
      case 'approval-reminder': {
        if (state.state !== 'AwaitingApproval') return { outcome: 'skipped', detail: `state is ${state.state}` };
        // After an outage (or a jump of the test clock) several reminders may be overdue: send one,
        // numbered by the time that has passed, so that the next one falls in the future — no burst.
        const waitingSince = lastEventAt(events, 'CertificateApprovalRequested') ?? this.clock.now().toISOString();
        const reminder = overdueReminderNumber(waitingSince, this.clock.now(), state.remindEveryHours ?? 24, state.remindersSent ?? 0);
        const result = await this.append(ctx, {
          type: 'RecordApprovalReminder',
          data: { reminder, waitingSince, approvalsMissing: state.approvalsRequired - state.approvals.length },
          actor: WORKER_ACTOR,
        });
        if (result.outcome === 'done') this.notify?.({ kind: 'approval-reminder', certificateId: ctx.certificateId, reminder, provider: state.request.provider });
        return result;
      }
      case 'approval-timeout':
        if (state.state !== 'AwaitingApproval') return { outcome: 'skipped', detail: `state is ${state.state}` };
        return this.append(ctx, {
          type: 'RejectRequest',
          data: { reason: `ApprovalTimedOut: no approval within the approval period (it expired at ${state.expiresAt}).` },
          actor: WORKER_ACTOR,
        });
      case 'renewal': {
        // Auto-renewal at the renewal time (or the retry after a failed renewal), unless one is in flight.
        if (state.state !== 'Issued') return { outcome: 'skipped', detail: `state is ${state.state}` };
        if (!autoRenewOf(state.request)) return { outcome: 'skipped', detail: 'autoRenew is off' };
        if (state.renewedBy) return { outcome: 'skipped', detail: `renewal ${state.renewedBy} is in flight` };
        const due = plannedRenewalAt(state, await loadRenewalDefaults(this.store)).getTime();
        if (due > this.clock.now().getTime()) return { outcome: 'skipped', detail: 'not due yet' };
        const renewalId = deterministicRenewalId(ctx.certificateId, ctx.causationId);
        try {
          await startRenewal(this.store, { certificateId: ctx.certificateId, renewalId, reuseKey: false, automatic: true, actor: WORKER_ACTOR }, this.metadata(ctx));
        } catch (e) {
          if (isDomainError(e) && (e.code === 'RenewalInProgress' || e.code === 'InvalidLifecycleState')) return { outcome: 'skipped', detail: e.message };
          if (e instanceof ConcurrencyError) return { outcome: 'skipped', detail: e.message };
          if (!isDomainError(e)) throw e;
          // A rule refused the clone (e.g. a key type no longer allowed): a failed renewal, retried with backoff.
          return this.recordRenewalFailure(ctx, null, `${e.code}: ${e.message}`, state.renewalAttempts ?? 0);
        }
        return { outcome: 'done', detail: `renewal ${renewalId} requested` };
      }
      case 'expiry-reminder':
        return this.sendExpiryReminder(ctx);
      case 'import-reminder':
        return this.sendImportReminder(ctx);
      case 'renewal-info':
        return this.checkRenewalInfo(ctx);
      default:
        return { outcome: 'skipped', detail: `unknown timer ${ctx.kind}` };
    }
  }

  private async recordRenewalFailure(ctx: WorkContext, renewalId: string | null, reason: string, attempts: number): Promise<WorkResult> {
    const nextAttemptAt = new Date(this.clock.now().getTime() + renewalBackoffMs(attempts + 1)).toISOString();
    return this.append(ctx, { type: 'RecordRenewalFailure', data: { renewalId, reason, nextAttemptAt }, actor: WORKER_ACTOR });
  }

  /**
   * The expiry-reminder timer: the reminder that `dueReminder` says is due now (at most one: after
   * an outage, one catch-up for the most urgent threshold crossed), delivered through the channels
   * of the certificate's route, then recorded as RenewalReminderSent with every delivery. A
   * renewed, revoked or removed certificate is not Issued any more and gets none.
   */
  private async sendExpiryReminder(ctx: WorkContext): Promise<WorkResult> {
    const { state } = await loadCertificate(this.store, ctx.certificateId);
    if (state.state !== 'Issued') return { outcome: 'skipped', detail: `state is ${state.state}` };
    const defaults = await loadRenewalDefaults(this.store);
    const due = dueReminder(state.certificate.notAfter, this.clock.now(), state.lastReminderThreshold ?? null, effectiveThresholds(state.request, defaults));
    if (!due) return { outcome: 'skipped', detail: 'no reminder due' };
    const name = state.request.friendlyName || state.certificate.certificateDomains[0] || state.certificate.subject;
    const when =
      due.threshold > 0 ? `expires in ${due.daysLeft} day${due.daysLeft === 1 ? '' : 's'}` : due.threshold === 0 ? 'expired today' : `expired ${-due.threshold} day(s) ago`;
    const renewal = state.renewedBy
      ? state.request.provider === 'manual'
        ? `Its renewal request ${state.renewedBy} is waiting: download its CSR, submit it to your CA and import the certificate.`
        : `Its renewal ${state.renewedBy} is in progress.`
      : autoRenewOf(state.request)
        ? 'certflow renews it automatically.'
        : `Renew it with POST /certificates/${ctx.certificateId}/renew.`;
    const n = {
      id: `${ctx.certificateId}-expiry-${due.threshold}`,
      kind: 'expiry-reminder',
      certificateId: ctx.certificateId,
      subject: `${name} ${when}${due.catchUp ? ' (catch-up)' : ''}`,
      text: `The certificate ${name} (${ctx.certificateId}, thumbprint ${state.certificate.thumbprint}) ${when}, on ${state.certificate.notAfter}. ${renewal}`,
      data: {
        threshold: due.threshold,
        daysLeft: due.daysLeft,
        catchUp: due.catchUp,
        notAfter: state.certificate.notAfter,
        thumbprint: state.certificate.thumbprint,
        provider: state.request.provider,
        renewedBy: state.renewedBy ?? null,
      },
    };
    const sent = this.notifier
      ? await this.notifier.send(n, { provider: state.request.provider, contact: state.request.contact ?? null })
      : { channels: [], deliveries: [] };
    return this.append(ctx, {
      type: 'RecordRenewalReminder',
      data: { threshold: due.threshold, daysLeft: due.daysLeft, catchUp: due.catchUp, channels: sent.channels, deliveries: sent.deliveries },
      actor: WORKER_ACTOR,
    });
  }

  /**
   * The import-reminder timer: a manual request whose CSR was made `importReminderHours` ago (or
   * a multiple of it) and whose certificate has not been imported. One reminder per due time; after
   * an outage one, numbered by the time that has passed, so the next falls in the future.
   */
  private async sendImportReminder(ctx: WorkContext): Promise<WorkResult> {
    const { state, events } = await loadCertificate(this.store, ctx.certificateId);
    if (state.state !== 'RequestGenerated' || state.request.provider !== 'manual') return { outcome: 'skipped', detail: `state is ${state.state}` };
    const defaults = await loadRenewalDefaults(this.store);
    const waitingSince = lastEventAt(events, 'CertificateRequestGenerated');
    const sent = state.importRemindersSent ?? 0;
    const due = waitingSince ? nextImportReminderAt(waitingSince, sent, defaults) : null;
    const now = this.clock.now();
    if (!waitingSince || !due || due > now) return { outcome: 'skipped', detail: 'no import reminder due' };
    const reminder = overdueReminderNumber(waitingSince, now, defaults.importReminderHours, sent);
    const hours = Math.floor((now.getTime() - Date.parse(waitingSince)) / 3_600_000);
    const waited = hours >= 48 ? `${Math.floor(hours / 24)} days` : `${hours} hours`;
    const name = state.request.friendlyName || state.request.domainNames[0];
    const renews = state.request.renews ? ` It renews certificate ${state.request.renews}, which keeps expiring meanwhile.` : '';
    const n = {
      id: `${ctx.certificateId}-import-${reminder}`,
      kind: 'import-reminder',
      certificateId: ctx.certificateId,
      subject: `${name}: the CA's certificate has not been imported (waiting ${waited})`,
      text:
        `The request ${ctx.certificateId} for ${state.request.domainNames.join(', ')} has been waiting ${waited} since its CSR was made on ${waitingSince}. ` +
        `Submit the CSR (GET /certificates/${ctx.certificateId}/csr) to your CA if you have not, then import its certificate (POST /certificates/${ctx.certificateId}/import).${renews}`,
      data: { reminder, waitingSince, provider: state.request.provider, renews: state.request.renews ?? null },
    };
    const delivered = this.notifier
      ? await this.notifier.send(n, { provider: state.request.provider, contact: state.request.contact ?? null })
      : { channels: [], deliveries: [] };
    return this.append(ctx, {
      type: 'RecordImportReminder',
      data: { reminder, waitingSince, channels: delivered.channels, deliveries: delivered.deliveries },
      actor: WORKER_ACTOR,
    });
  }

  /**
   * The renewal-info timer of an ACME certificate: ask the CA for its suggested renewal window
   * (RFC 9773). A new window gets a new random renewal time inside it; the same window keeps the
   * time chosen before (so asking again never moves the renewal). An error or a CA without renewal
   * information is recorded too: the policy time stands and certflow asks again later.
   */
  private async checkRenewalInfo(ctx: WorkContext): Promise<WorkResult> {
    const { state } = await loadCertificate(this.store, ctx.certificateId);
    if (state.state !== 'Issued' || state.request.provider !== 'acme') return { outcome: 'skipped', detail: `state is ${state.state}` };
    if (state.renewedBy) return { outcome: 'skipped', detail: `renewal ${state.renewedBy} is in flight` };
    const now = this.clock.now();
    if (state.renewalInfo && Date.parse(state.renewalInfo.nextCheckAt) > now.getTime()) return { outcome: 'skipped', detail: 'not due yet' };
    if (!this.renewalInfo) return { outcome: 'skipped', detail: 'no ACME CA is configured' };
    const answer = await this.renewalInfo.fetch(state.certificate.certificatePem);
    const previous = state.renewalInfo ?? null;
    let info: RenewalInfo;
    if (answer.kind === 'window') {
      const sameWindow = previous?.window && previous.window.start === answer.window.start && previous.window.end === answer.window.end;
      info = {
        window: answer.window,
        renewAt: sameWindow && previous?.renewAt ? previous.renewAt : ariRenewalTime(answer.window, now, this.random()).toISOString(),
        explanationUrl: answer.explanationUrl,
        nextCheckAt: nextRenewalInfoCheck(now, answer.retryAfterSeconds).toISOString(),
        error: null,
      };
    } else {
      // Keep the last window the CA gave (if any) through a failed check; without one, the policy time stands.
      const unsupported = answer.kind === 'unsupported';
      info = {
        window: previous?.window ?? null,
        renewAt: previous?.renewAt ?? null,
        explanationUrl: previous?.explanationUrl ?? null,
        nextCheckAt: (unsupported ? new Date(now.getTime() + RENEWAL_INFO_UNSUPPORTED_RECHECK_MS) : nextRenewalInfoCheck(now, answer.retryAfterSeconds)).toISOString(),
        error: unsupported ? 'The ACME CA publishes no renewal information (RFC 9773); the renewal policy decides.' : answer.reason,
      };
    }
    return this.append(ctx, { type: 'RecordRenewalInfo', data: info, actor: WORKER_ACTOR });
  }

  /** A step failed for good (a DomainError, or retries exhausted on a permanent problem). */
  async recordPermanentFailure(ctx: WorkContext, step: string, reason: string): Promise<WorkResult> {
    return this.append(ctx, { type: 'FailRequest', data: { step, reason }, actor: WORKER_ACTOR });
  }

  /** A step failed for now; it is retried later. The failure is an event, so it never vanishes. */
  async recordTransientFailure(ctx: WorkContext, step: string, reason: string, nextAttemptAt: Date | null): Promise<WorkResult> {
    return this.append(ctx, {
      type: 'RecordStepFailure',
      data: { step, reason, nextAttemptAt: nextAttemptAt?.toISOString() ?? null },
      actor: WORKER_ACTOR,
    });
  }

  async failedAttempts(certificateId: string): Promise<number> {
    const { state } = await loadCertificate(this.store, certificateId);
    return state.state === 'Initial' ? 0 : state.failedAttempts;
  }

  private async append(ctx: WorkContext, command: Parameters<typeof handleCertificateCommand>[2]): Promise<WorkResult> {
    try {
      await handleCertificateCommand(this.store, ctx.certificateId, command, this.metadata(ctx));
      return { outcome: 'done', detail: command.type };
    } catch (e) {
      // Someone else did the step first (a duplicate job, a restarted worker): the state moved on.
      if (isDomainError(e) && (e.code === 'InvalidLifecycleState' || e.code === 'ReminderAlreadySent')) return { outcome: 'skipped', detail: e.message };
      if (e instanceof ConcurrencyError) return { outcome: 'skipped', detail: e.message };
      throw e;
    }
  }
}

export { DomainError };
