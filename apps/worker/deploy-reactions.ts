import { Pool } from 'pg';
import { BindingWorkContext, BindingWorkResult, RecordedEvent, ServiceBindingWorkHandler } from '../../libs/application/src';
import { BINDING_STREAM_PREFIX } from '../../libs/domain/src';
import { ServiceBindingsReadModel } from '../../libs/event-store/src';
import { JobName, JobQueue, JobRequest, jobIdFor } from '../../libs/queue/src';

const CERTIFICATE = 'certificate-';

/**
 * The enablement jobs an event causes (pure, like reactionsTo; ids derive from the causing event):
 * - a pending enablement (`ServiceEnablementRequested`) is deployed by DeployService;
 * - an issued certificate (`CertificateIssued`, `CertificateImported`) is enabled for the services
 *   its request named by EnableRequestedServices (which does nothing when it named none).
 */
export function deployReactionsTo(event: RecordedEvent): JobRequest[] {
  const base = { causationId: event.eventId, correlationId: event.metadata.correlationId };
  if (event.streamId.startsWith(BINDING_STREAM_PREFIX) && event.type === 'ServiceEnablementRequested') {
    const d = event.data as { certificateId: string; service: string };
    return [{ name: JobName.DeployService, jobId: jobIdFor(event.eventId, JobName.DeployService), payload: { certificateId: d.certificateId, service: d.service, ...base } }];
  }
  if (event.streamId.startsWith(CERTIFICATE) && (event.type === 'CertificateIssued' || event.type === 'CertificateImported')) {
    const certificateId = event.streamId.slice(CERTIFICATE.length);
    return [{ name: JobName.EnableRequestedServices, jobId: jobIdFor(event.eventId, JobName.EnableRequestedServices), payload: { certificateId, ...base } }];
  }
  return [];
}

type DeployJobHandler = (ctx: BindingWorkContext) => Promise<BindingWorkResult>;

/**
 * The handlers of the deploy queue, for QueueProcessors. Without a handler (a worker built
 * without service targets, as in some tests) the jobs are skipped, so the queue never jams.
 */
export function deployJobHandlers(work: ServiceBindingWorkHandler | undefined): [JobName, DeployJobHandler][] {
  const skip = async (): Promise<BindingWorkResult> => ({ outcome: 'skipped', detail: 'this worker has no service deployers' });
  return [
    [JobName.DeployService, (ctx) => (work ? work.deploy(ctx) : skip())],
    [JobName.EnableRequestedServices, (ctx) => (work ? work.enableRequestedServices(ctx) : skip())],
  ];
}

/**
 * Puts pending deployments back on the queue after Redis lost them (called by the Reconciler).
 * Job ids are the ones the dispatcher used (from the ServiceEnablementRequested event), so a job
 * still in Redis is not duplicated.
 */
export class PendingDeploymentsReconciler {
  constructor(
    private readonly pool: Pool,
    private readonly jobs: JobQueue,
  ) {}

  async reconcile(): Promise<number> {
    const pending = await new ServiceBindingsReadModel(this.pool).pending();
    const jobs: JobRequest[] = pending.map((p) => ({
      name: JobName.DeployService,
      jobId: jobIdFor(p.eventId, JobName.DeployService),
      payload: { certificateId: p.certificateId, service: p.service, causationId: p.eventId, correlationId: p.correlationId ?? p.eventId },
    }));
    if (jobs.length) await this.jobs.enqueue(jobs);
    return jobs.length;
  }
}
