/**
 * Queue and job names. They are stored in Redis: never rename one, add a new one.
 *
 * - `crypto`: key generation and CSRs (CPU-bound).
 * - `ca`: talking to certification authorities (and the self-signed issuer).
 * - `deploy`: writing certificates to servers (enablement issue).
 * - `notify`: reminders and notifications (renewal issue).
 */
export enum QueueName {
  Crypto = 'crypto',
  Ca = 'ca',
  Deploy = 'deploy',
  Notify = 'notify',
}

export enum JobName {
  /** Generate the key pair and the PKCS#10 request of a `Requested` certificate. */
  GenerateRequest = 'generate-request',
  /** Ask the certificate's provider to issue a `RequestGenerated` certificate. */
  IssueCertificate = 'issue-certificate',
  /** A durable timer came due (retry/poll, approval reminder, approval timeout). */
  FireTimer = 'fire-timer',
  /** Deploy a pending service enablement (ServiceEnablementRequested) and verify what the server presents. */
  DeployService = 'deploy-service',
  /** Enable an issued certificate for the services its request named (`requestedServices`). */
  EnableRequestedServices = 'enable-requested-services',
}

export const JOB_QUEUE: Record<JobName, QueueName> = {
  [JobName.GenerateRequest]: QueueName.Crypto,
  [JobName.IssueCertificate]: QueueName.Ca,
  [JobName.FireTimer]: QueueName.Ca,
  [JobName.DeployService]: QueueName.Deploy,
  [JobName.EnableRequestedServices]: QueueName.Deploy,
};

/** Job payloads carry ids only — never certificates' contents, never keys. */
export interface CertificateJobPayload {
  certificateId: string;
  /** The event that caused the job (becomes the causationId of the events the job appends). */
  causationId: string;
  correlationId: string;
  /** For FireTimer: which timer (next-attempt, approval-reminder, approval-timeout). */
  timerKind?: string;
  /** For DeployService: the service being deployed (informational; the handler trusts the log). */
  service?: string;
}

export interface JobRequest {
  name: JobName;
  payload: CertificateJobPayload;
  /** Deterministic: the same cause always gives the same id, so a repeated enqueue is a no-op. */
  jobId: string;
}

/** `<eventId>_<reaction>`: BullMQ refuses ':' in custom job ids, so '_' separates them. */
export const jobIdFor = (causationId: string, name: JobName): string => `${causationId}_${name}`;
