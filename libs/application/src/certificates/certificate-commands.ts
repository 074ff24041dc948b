import {
  CertificateCommand,
  CertificateEvent,
  CertificateState,
  certificateStreamId,
  decide,
  evolve,
  initialCertificateState,
  isDomainError,
  renewalBackoffMs,
} from '../../../domain/src';
import { Decider, HandleResult, handleCommand, loadAggregate } from '../command-handler';
import { EventMetadata, EventStore } from '../ports';

export const certificateDecider: Decider<CertificateCommand, CertificateEvent, CertificateState> = {
  decide,
  evolve,
  initialState: initialCertificateState,
};

export async function handleCertificateCommand(
  store: EventStore,
  certificateId: string,
  command: CertificateCommand,
  metadata: EventMetadata,
): Promise<HandleResult<CertificateEvent, CertificateState>> {
  const result = await handleCommand(store, certificateDecider, certificateStreamId(certificateId), command, metadata);
  // A renewal that ends without a certificate (failed, rejected by the CA or an approver, removed) is a renewal failure of the old one.
  const ended = result.newEvents.find(
    (e) => e.type === 'CertificateRequestFailed' || e.type === 'CertificateRequestRejected' || e.type === 'CertificateRemoved',
  );
  if (ended) {
    const given = (ended.data as { reason?: string | null }).reason ?? null;
    const reason = ended.type === 'CertificateRemoved' ? `the renewal was removed${given ? `: ${given}` : ''}` : (given ?? 'the renewal ended without a certificate');
    await recordRenewalFailureIfRenewal(store, result.state, reason, metadata);
  }
  return result;
}

export const loadCertificate = (store: EventStore, certificateId: string, options?: { untilAt?: string }) =>
  loadAggregate(store, certificateDecider, certificateStreamId(certificateId), options);

/**
 * A renewal's new certificate ended without a certificate (Failed, Rejected): the old one records
 * the failure, frees itself for another renewal and retries after 1 h × 2^(n−1) (capped at 24 h).
 */
async function recordRenewalFailureIfRenewal(store: EventStore, renewal: CertificateState, reason: string, metadata: EventMetadata): Promise<void> {
  if (renewal.state === 'Initial' || !renewal.request.renews) return;
  const oldId = renewal.request.renews;
  const { state: old } = await loadCertificate(store, oldId);
  if (old.state !== 'Issued' || old.renewedBy !== renewal.certificateId) return;
  const attempt = (old.renewalAttempts ?? 0) + 1;
  const nextAttemptAt = new Date(Date.parse(metadata.at) + renewalBackoffMs(attempt)).toISOString();
  try {
    await handleCertificateCommand(
      store,
      oldId,
      { type: 'RecordRenewalFailure', data: { renewalId: renewal.certificateId, reason, nextAttemptAt }, actor: metadata.actor },
      { ...metadata, causationId: metadata.causationId ?? renewal.certificateId },
    );
  } catch (e) {
    if (!isDomainError(e)) throw e;
  }
}
