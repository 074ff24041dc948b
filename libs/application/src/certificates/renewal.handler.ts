import { createHash } from 'node:crypto';
import { isDomainError } from '../../../domain/src';
import { EventMetadata, EventStore } from '../ports';
import { handleCertificateCommand, loadCertificate } from './certificate-commands';

/**
 * A renewal id derived from the old certificate and what caused the renewal (a timer firing),
 * so that a job that runs twice starts one renewal, not two.
 */
export function deterministicRenewalId(certificateId: string, causationId: string): string {
  const h = createHash('sha256').update(`renewal:${certificateId}:${causationId}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${((parseInt(h[16], 16) & 3) | 8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/**
 * Starts a renewal: records `CertificateRenewalRequested` on the old certificate (which refuses a
 * second renewal in flight), then requests the new certificate as a clone of the old request
 * (subject, domains, key type, provider, services, validity, policy) with `renews` pointing back
 * and, with `reuseKey`, the old key's vault id. Idempotent: run again with the same renewalId,
 * it finishes what a crash left half done.
 */
export async function startRenewal(
  store: EventStore,
  input: { certificateId: string; renewalId: string; reuseKey: boolean; automatic: boolean; actor: string },
  metadata: EventMetadata,
): Promise<{ renewalId: string }> {
  let { state } = await loadCertificate(store, input.certificateId);
  if (!(state.state === 'Issued' && state.renewedBy === input.renewalId)) {
    const result = await handleCertificateCommand(
      store,
      input.certificateId,
      { type: 'RequestRenewal', data: { renewalId: input.renewalId, reuseKey: input.reuseKey, automatic: input.automatic }, actor: input.actor },
      metadata,
    );
    state = result.state;
  }
  if (state.state !== 'Issued') throw new Error('unreachable: a renewal was recorded on a certificate that is not Issued');
  const { state: existing } = await loadCertificate(store, input.renewalId);
  if (existing.state !== 'Initial') return { renewalId: input.renewalId };
  const r = state.request;
  try {
    await handleCertificateCommand(
      store,
      input.renewalId,
      {
        type: 'RequestCertificate',
        data: {
          certificateId: input.renewalId,
          provider: r.provider,
          subject: r.subject,
          domainNames: r.domainNames,
          key: r.key,
          privateKeyExportable: r.privateKeyExportable,
          friendlyName: r.friendlyName,
          requestedServices: r.requestedServices,
          validityDays: r.validityDays,
          autoRenew: r.autoRenew,
          renewBeforeMs: r.renewBeforeMs ?? null,
          renewBeforePercentage: r.renewBeforePercentage ?? null,
          reminderThresholds: r.reminderThresholds ?? null,
          contact: r.contact ?? null,
          renews: input.certificateId,
          keyId: input.reuseKey ? state.keyId : null,
          // The old request passed the key checks when it was made (or was imported): keep its key type.
          allowWeakKey: true,
        },
        actor: input.actor,
      },
      metadata,
    );
  } catch (e) {
    if (!(isDomainError(e) && e.code === 'CertificateAlreadyExists')) throw e;
  }
  return { renewalId: input.renewalId };
}

