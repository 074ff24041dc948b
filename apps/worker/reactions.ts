import { RecordedEvent } from '../../libs/application/src';
import { JobName, JobRequest, jobIdFor } from '../../libs/queue/src';
import { deployReactionsTo } from './deploy-reactions';

const CERTIFICATE = 'certificate-';

/**
 * Which jobs an event causes. Pure: the dispatcher and the reconciler both derive job ids
 * from the causing event, so the same work is never enqueued under two ids.
 */
export function reactionsTo(event: RecordedEvent): JobRequest[] {
  return [...certificateReactionsTo(event), ...deployReactionsTo(event)];
}

function certificateReactionsTo(event: RecordedEvent): JobRequest[] {
  if (!event.streamId.startsWith(CERTIFICATE)) return [];
  const certificateId = event.streamId.slice(CERTIFICATE.length);
  const job = (name: JobName): JobRequest => ({
    name,
    jobId: jobIdFor(event.eventId, name),
    payload: { certificateId, causationId: event.eventId, correlationId: event.metadata.correlationId },
  });
  switch (event.type) {
    case 'CertificateRequested':
      return [job(JobName.GenerateRequest)];
    case 'CertificateRequestGenerated':
    case 'CertificateRequestApproved':
      return [job(JobName.IssueCertificate)];
    default:
      return [];
  }
}

/** The job that moves an in-flight certificate on from its current state (used by the reconciler). */
export function outstandingJob(state: string, provider: string): JobName | null {
  switch (state) {
    case 'Requested':
      return JobName.GenerateRequest;
    case 'RequestGenerated':
      return provider === 'manual' ? null : JobName.IssueCertificate;
    case 'Submitted':
      return JobName.IssueCertificate;
    default:
      return null; // AwaitingApproval waits for a person; final states have no work.
  }
}
