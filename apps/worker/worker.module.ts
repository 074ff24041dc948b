import { Inject, Module, OnApplicationBootstrap, OnApplicationShutdown, Injectable } from '@nestjs/common';
import { readFileSync } from 'node:fs';
import { CertificateWorkHandler, Issuer, RenewalInfoSource, ServiceBindingWorkHandler } from '../../libs/application/src';
import { CertflowConfig, JsonLogger, loadConfig, loadServicesConfig } from '../../libs/config/src';
import { KeyVault, VaultKeyService, loadMasterKey } from '../../libs/crypto/src';
import { CertflowClock, ServiceBindingsReadModel, openEventStore } from '../../libs/event-store/src';
import { ServiceTargets, VaultPrivateKeys } from '../../libs/deployers/src';
import { AcmeAccountStore, AcmeChallengesAdapter, AcmeIssuer, InternalCaIssuer, InternalCaStore, SelfSignedIssuer, fetchRenewalInfo } from '../../libs/issuers/src';
import { JobQueue, enqueueDueTimers, redisConnection } from '../../libs/queue/src';
import { NotificationRouter } from '../../libs/notifications/src';
import { Dispatcher } from './dispatcher';
import { QueueProcessors } from './processors';
import { Reconciler } from './reconciler';

export const WORKER_RUNTIME = 'WORKER_RUNTIME';

/** What approvers are told, through the notification channels (CERTFLOW_NOTIFY_*). */
const NOTICES: Record<string, string> = {
  'approval-requested': 'approvers notified: a request waits for approval',
  'approval-reminder': 'approvers reminded: a request is waiting for approval',
};

export interface WorkerRuntime {
  config: CertflowConfig;
  log: JsonLogger;
  close(): Promise<void>;
  start(): void;
}

async function createRuntime(): Promise<WorkerRuntime> {
  const config = loadConfig();
  const log = new JsonLogger('worker', config.logLevel);
  const { pool, store } = await openEventStore(config.databaseUrl, config.workerConcurrency + 4);
  const vault = new KeyVault(pool, loadMasterKey());
  const clock = new CertflowClock(pool, config.testClock);
  await clock.sync();
  const internalCa = new InternalCaStore(pool, store, vault, clock, {
    name: config.internalCa.name,
    importCertPem: config.internalCa.importCertFile ? readFileSync(config.internalCa.importCertFile, 'utf8') : null,
    importKeyPem: config.internalCa.importKeyFile ? readFileSync(config.internalCa.importKeyFile, 'utf8') : null,
  });
  const issuers = new Map<string, Issuer>([
    ['self-signed', new SelfSignedIssuer(vault)],
    ['internal-ca', new InternalCaIssuer(internalCa, config.internalCa, config.publicUrl)],
  ]);
  let renewalInfo: RenewalInfoSource | undefined;
  if (config.acme.directoryUrl) {
    const directoryUrl = config.acme.directoryUrl;
    renewalInfo = { fetch: (certificatePem) => fetchRenewalInfo(directoryUrl, certificatePem) };
    const accounts = new AcmeAccountStore(store, vault, clock, { directoryUrl: config.acme.directoryUrl, email: config.acme.email });
    issuers.set('acme', new AcmeIssuer(accounts, new AcmeChallengesAdapter(pool, config.acme), config.acme, (e) => log.warn(e, 'Acme')));
  }
  const notifier = new NotificationRouter(config.notify, log);
  // Approval notices: fire and forget through the same channels (the approval events are the record).
  const notify = (n: { kind: string; certificateId: string; [k: string]: unknown }) => {
    const { kind, certificateId, ...data } = n;
    const subject = NOTICES[kind] ?? kind;
    const id = `${certificateId}-${kind}-${String(n.reminder ?? 0)}`;
    notifier
      .send({ id, kind, certificateId, subject, text: `${subject}: certificate ${certificateId}.`, data }, { provider: typeof n.provider === 'string' ? n.provider : null, contact: null })
      .catch((e: unknown) => log.warn({ msg: 'notification failed', kind, certificateId, error: (e as Error).message }, 'Notify'));
  };
  const work = new CertificateWorkHandler(store, new VaultKeyService(vault), issuers, clock, config.approval, notify, notifier, renewalInfo);
  const workerConnection = redisConnection(config.redisUrl);
  const queueConnection = redisConnection(config.redisUrl);
  const jobs = new JobQueue(queueConnection, config.queuePrefix);
  // Enablement (issue 5): the services in CERTFLOW_CONFIG, their deployers and verify targets.
  const targets = new ServiceTargets(loadServicesConfig());
  const deploy = new ServiceBindingWorkHandler(store, targets, new ServiceBindingsReadModel(pool), targets, targets, new VaultPrivateKeys(vault), clock);
  const processors = new QueueProcessors(work, workerConnection, config.queuePrefix, config.workerConcurrency, config.jobLockMs, clock, log, deploy);
  const dispatcher = new Dispatcher(config.databaseUrl, store, jobs, config.dispatcherPollMs, log);
  const reconciler = new Reconciler(pool, jobs, config.reconcileIntervalMs, clock, log);
  // Durable timers: every second, move the due ones into the queues (a Redis flush loses none).
  let timerLoop: NodeJS.Timeout | null = null;
  const tickTimers = async () => {
    try {
      await clock.sync();
      const fired = await enqueueDueTimers(pool, jobs, clock.now());
      if (fired > 0) log.debug?.({ msg: 'due timers enqueued', fired }, 'Timers');
    } catch (e) {
      log.warn({ msg: 'timer scheduling failed', error: (e as Error).message }, 'Timers');
    }
    if (timerLoop !== null) timerLoop = setTimeout(tickTimers, config.timerPollMs);
  };
  return {
    config,
    log,
    start() {
      processors.start();
      dispatcher.start();
      reconciler.start();
      timerLoop = setTimeout(tickTimers, 0);
      log.log({ msg: 'worker started', concurrency: config.workerConcurrency, queuePrefix: config.queuePrefix }, 'Worker');
    },
    async close() {
      log.log({ msg: 'worker draining' }, 'Worker');
      if (timerLoop) clearTimeout(timerLoop);
      timerLoop = null;
      await dispatcher.stop();
      await reconciler.stop();
      await processors.close();
      await jobs.close();
      await Promise.all([workerConnection.quit().catch(() => undefined), queueConnection.quit().catch(() => undefined)]);
      await pool.end();
      notifier.close();
      log.log({ msg: 'worker stopped' }, 'Worker');
    },
  };
}

@Injectable()
class WorkerLifecycle implements OnApplicationBootstrap, OnApplicationShutdown {
  constructor(@Inject(WORKER_RUNTIME) private readonly runtime: WorkerRuntime) {}
  onApplicationBootstrap(): void {
    this.runtime.start();
  }
  async onApplicationShutdown(): Promise<void> {
    await this.runtime.close();
  }
}

@Module({
  providers: [{ provide: WORKER_RUNTIME, useFactory: createRuntime }, WorkerLifecycle],
})
export class WorkerModule {}
