import * as acme from 'acme-client';
import { IssueContext, IssueOutcome, Issuer, TransientIssuerError } from '../../../application/src';
import { AcmeAccountStore } from './acme-account.store';
import { AcmeChallengeSetupError, AcmeChallengesAdapter, DnsTxtRecord } from './acme-challenges.adapter';
import { AcmeProblemError, classifyAcmeFailure, describeAcmeError, parseRetryAfter, shortType } from './acme-errors';
import { takeRetryAfter } from './acme-transport';

export interface AcmeIssuerSettings {
  /** How soon to look at a progressing order again (unless the CA says otherwise with Retry-After). */
  pollIntervalMs: number;
}

type Warn = (entry: { msg: string; [k: string]: unknown }) => void;

/**
 * ACME (RFC 8555) through acme-client, as a step function: every call advances the order by at
 * most one step and returns; certflow waits between calls on durable timers.
 *
 * | order (at the CA) | this step                                                        | returns            |
 * |-------------------|------------------------------------------------------------------|--------------------|
 * | none yet          | new order; publish challenges; ask the CA to validate them       | pending (order URL)|
 * | pending           | re-publish and re-trigger challenges still pending; an invalid   | pending / rejected |
 * |                   | authorization rejects with the CA's detail                       |                    |
 * | ready             | finalize with certflow's CSR (the key never leaves certflow)     | pending            |
 * | processing        | nothing                                                          | pending            |
 * | valid             | download the chain; remove challenges                            | issued             |
 * | invalid           | remove challenges                                                | rejected           |
 *
 * Network errors, 5xx and rate limits are thrown as TransientIssuerError (with the CA's
 * Retry-After); any other problem document rejects the request with the CA's reason. Repeating a
 * step (a duplicate job, a restarted worker) is harmless: challenges are published with
 * "insert if absent", a second finalize meets `orderNotReady` and reports the order's status.
 */
export class AcmeIssuer implements Issuer {
  readonly provider = 'acme' as const;

  constructor(
    private readonly accounts: AcmeAccountStore,
    private readonly challenges: AcmeChallengesAdapter,
    private readonly settings: AcmeIssuerSettings,
    private readonly warn: Warn = () => undefined,
  ) {}

  async issue(ctx: IssueContext): Promise<IssueOutcome> {
    try {
      return ctx.orderId === null ? await this.placeOrder(ctx) : await this.advance(ctx, ctx.orderId);
    } catch (e) {
      if (e instanceof AcmeChallengeSetupError) throw new TransientIssuerError(e.message);
      const failure = classifyAcmeFailure(e, ctx.now);
      if (failure.kind === 'transient') throw new TransientIssuerError(failure.message, failure.retryAt && notBefore(failure.retryAt, ctx.now));
      if (failure.kind === 'other') throw e;
      await this.cleanup(ctx, null);
      return { kind: 'rejected', reason: failure.reason };
    }
  }

  private async placeOrder(ctx: IssueContext): Promise<IssueOutcome> {
    const type = this.challenges.settings.challenge;
    const wildcards = ctx.request.domainNames.filter((d) => d.startsWith('*.'));
    if (wildcards.length > 0 && type !== 'dns-01') {
      return { kind: 'rejected', reason: `ACME wildcard names (${wildcards.join(', ')}) can only be validated with dns-01; this installation uses ${type} (ACME_CHALLENGE).` };
    }
    const { client } = await this.accounts.account();
    const order = await client.createOrder({ identifiers: ctx.request.domainNames.map((value) => ({ type: 'dns', value })) });
    const refused = await this.startChallenges(ctx, client, order);
    if (refused) {
      await this.cleanup(ctx, { client, order });
      return { kind: 'rejected', reason: refused };
    }
    return this.pending(ctx, order.url, order.status);
  }

  private async advance(ctx: IssueContext, orderUrl: string): Promise<IssueOutcome> {
    const { client } = await this.accounts.account();
    const order = await client.getOrder({ url: orderUrl } as acme.Order);
    switch (order.status) {
      case 'pending': {
        const refused = await this.startChallenges(ctx, client, order);
        if (refused) {
          await this.cleanup(ctx, { client, order });
          return { kind: 'rejected', reason: refused };
        }
        return this.pending(ctx, orderUrl, 'pending');
      }
      case 'ready': {
        try {
          const finalized = await client.finalizeOrder(order, ctx.csrPem);
          return this.pending(ctx, orderUrl, finalized.status);
        } catch (e) {
          // Someone finalized it a moment ago (a duplicate step): report where the order is now.
          if (!(e instanceof AcmeProblemError) || !e.type || shortType(e.type) !== 'orderNotReady') throw e;
          const now = await client.getOrder(order);
          return this.pending(ctx, orderUrl, now.status);
        }
      }
      case 'processing':
        return this.pending(ctx, orderUrl, 'processing');
      case 'valid': {
        const pem = await client.getCertificate(order);
        const [certificatePem, ...chainPem] = acme.crypto.splitPemChain(pem);
        if (!certificatePem) throw new TransientIssuerError(`the CA returned no certificate for order ${orderUrl}`);
        await this.cleanup(ctx, { client, order });
        return { kind: 'issued', certificatePem, chainPem };
      }
      case 'invalid': {
        const reason = describeAcmeError(order.error) ?? (await this.failedAuthorizations(client, order)) ?? 'no reason given';
        await this.cleanup(ctx, { client, order });
        return { kind: 'rejected', reason: `ACME order invalid: ${reason}` };
      }
      default:
        // RFC 8555 has no other order status; a CA that invents one gets the request rejected.
        await this.cleanup(ctx, { client, order });
        return { kind: 'rejected', reason: `ACME order is in an unknown status "${String(order.status)}"` };
    }
  }

  /**
   * Publishes and triggers every challenge that is still pending. Returns a rejection reason when
   * an authorization failed or cannot be satisfied with the configured challenge type.
   */
  private async startChallenges(ctx: IssueContext, client: acme.Client, order: acme.Order): Promise<string | null> {
    const type = this.challenges.settings.challenge;
    const authorizations = await client.getAuthorizations(order);
    for (const authz of authorizations) {
      const name = `${authz.wildcard ? '*.' : ''}${authz.identifier.value}`;
      if (authz.status === 'valid') continue;
      if (authz.status !== 'pending') {
        const challengeError = authz.challenges.map((c) => describeAcmeError(c.error)).find(Boolean);
        return `ACME authorization for ${name} is ${authz.status}${challengeError ? `: ${challengeError}` : ''}`;
      }
      const challenge = authz.challenges.find((c) => c.type === type);
      if (!challenge) {
        return `ACME: the CA offers no ${type} challenge for ${name} (it offers ${authz.challenges.map((c) => c.type).join(', ') || 'none'})`;
      }
      if (challenge.status !== 'pending') continue; // processing, or already decided
      const keyAuthorization = await client.getChallengeKeyAuthorization(challenge);
      if (type === 'http-01') await this.challenges.presentHttp(ctx.certificateId, challenge.token, keyAuthorization);
      else await this.challenges.presentDns(dnsRecord(authz.identifier.value, keyAuthorization));
      await client.completeChallenge(challenge);
    }
    return null;
  }

  private async failedAuthorizations(client: acme.Client, order: acme.Order): Promise<string | null> {
    const authorizations = await client.getAuthorizations(order).catch(() => []);
    const failures = authorizations.flatMap((a) =>
      a.challenges.map((c) => describeAcmeError(c.error)).filter((d): d is string => !!d).map((d) => `${a.identifier.value}: ${d}`),
    );
    return failures.length ? failures.join('; ') : null;
  }

  /**
   * Removes what was published for the certificate. Best effort: a leftover HTTP-01 row is
   * harmless, a leftover TXT record is logged for the operator.
   */
  private async cleanup(ctx: IssueContext, at: { client: acme.Client; order: acme.Order } | null): Promise<void> {
    try {
      await this.challenges.cleanupHttp(ctx.certificateId);
    } catch (e) {
      this.warn({ msg: 'could not remove ACME HTTP-01 challenge responses', certificateId: ctx.certificateId, error: (e as Error).message });
    }
    if (this.challenges.settings.challenge !== 'dns-01' || !at) return;
    try {
      for (const authz of await at.client.getAuthorizations(at.order)) {
        const challenge = authz.challenges.find((c) => c.type === 'dns-01');
        if (!challenge) continue;
        await this.challenges.cleanupDns(dnsRecord(authz.identifier.value, await at.client.getChallengeKeyAuthorization(challenge)));
      }
    } catch (e) {
      this.warn({ msg: 'could not remove an ACME dns-01 TXT record', certificateId: ctx.certificateId, error: (e as Error).message });
    }
  }

  private pending(ctx: IssueContext, orderUrl: string, status: string): IssueOutcome {
    const retryAfter = parseRetryAfter(takeRetryAfter(orderUrl), ctx.now);
    const retryAt = retryAfter ? notBefore(retryAfter, ctx.now) : new Date(ctx.now.getTime() + this.settings.pollIntervalMs);
    return { kind: 'pending', orderId: orderUrl, status, retryAt };
  }
}

/** A `Retry-After: 0` must not make the worker call the CA in a tight loop: at least a second. */
const MIN_RETRY_MS = 1_000;
const notBefore = (at: Date, now: Date): Date => new Date(Math.max(at.getTime(), now.getTime() + MIN_RETRY_MS));

/** The TXT record for a dns-01 challenge; a wildcard's record sits at its base domain. */
export function dnsRecord(domain: string, txtValue: string): DnsTxtRecord {
  const base = domain.replace(/^\*\./, '');
  return { domain: base, txtName: `_acme-challenge.${base}`, txtValue };
}
