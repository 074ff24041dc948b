import { Global, Inject, Module, OnApplicationShutdown } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import IORedis from 'ioredis';
import { Pool } from 'pg';
import { CertflowClock } from '../../libs/event-store/src';
import { InternalCaStore } from '../../libs/issuers/src';
import { JobQueue } from '../../libs/queue/src';
import { EventStore } from '../../libs/application/src';
import { readFileSync } from 'node:fs';
import { ApprovalsController } from './certificates/approvals.controller';
import { MetricsController } from './metrics/metrics.controller';
import { RenewalsController } from './renewals/renewals.controller';
import { RenewalsService } from './renewals/renewals.service';
import { RenewalDefaultsFromConfig, RenewalSettingsController } from './settings/renewal-settings.controller';
import { INTERNAL_CA, InternalCaController } from './ca/internal-ca.controller';
import { AcmeChallengeController } from './ca/acme-challenge.controller';
import { JOB_QUEUE, TestClockController } from './ca/test-clock.controller';
import { CertflowConfig, loadConfig } from '../../libs/config/src';
import { openEventStore } from '../../libs/event-store/src';
import { redisConnection } from '../../libs/queue/src';
import { AuthGuard } from './auth/auth.guard';
import { TokenService } from './auth/token.service';
import { CertificatesController } from './certificates/certificates.controller';
import { CertificatesService } from './certificates/certificates.service';
import { CLOCK, CONFIG, EVENT_STORE, KEY_VAULT, PG_POOL, REDIS } from './common/tokens';
import { KeyVault, loadMasterKey } from '../../libs/crypto/src';
import { CertificateFilesService } from './certificates/certificate-files.service';
import { SelectionController } from './certificates/selection.controller';
import { TrustController } from './trust/trust.controller';
import { TrustService } from './trust/trust.service';
import { HealthController } from './health/health.controller';
import { TokensController } from './tokens/tokens.controller';
import { ServiceTargets } from '../../libs/deployers/src';
import { loadServicesConfig } from '../../libs/config/src';
import { EnablementController } from './services/enablement.controller';
import { ServicesController } from './services/services.controller';
import { SERVICE_TARGETS, ServicesService } from './services/services.service';

const STORE = 'STORE_AND_POOL';

@Global()
@Module({
  providers: [
    { provide: CONFIG, useFactory: () => loadConfig() },
    { provide: STORE, inject: [CONFIG], useFactory: (c: CertflowConfig) => openEventStore(c.databaseUrl, 20) },
    { provide: PG_POOL, inject: [STORE], useFactory: (s: { pool: Pool }) => s.pool },
    { provide: EVENT_STORE, inject: [STORE], useFactory: (s: { store: unknown }) => s.store },
    { provide: REDIS, inject: [CONFIG], useFactory: (c: CertflowConfig) => redisConnection(c.redisUrl, { maxRetriesPerRequest: 1, enableOfflineQueue: false }) },
    {
      provide: CLOCK,
      inject: [PG_POOL, CONFIG],
      useFactory: async (pool: Pool, c: CertflowConfig) => {
        const clock = new CertflowClock(pool, c.testClock);
        await clock.sync();
        // Other processes may move the test clock; follow them.
        if (c.testClock) setInterval(() => clock.sync().catch(() => undefined), 250).unref();
        return clock;
      },
    },
    { provide: JOB_QUEUE, inject: [REDIS, CONFIG], useFactory: (redis: IORedis, c: CertflowConfig) => new JobQueue(redis.duplicate({ maxRetriesPerRequest: null, enableOfflineQueue: true }), c.queuePrefix, true) },
    {
      provide: INTERNAL_CA,
      inject: [PG_POOL, EVENT_STORE, KEY_VAULT, CLOCK, CONFIG],
      useFactory: (pool: Pool, store: EventStore, vault: KeyVault, clock: CertflowClock, c: CertflowConfig) =>
        new InternalCaStore(pool, store, vault, clock, {
          name: c.internalCa.name,
          importCertPem: c.internalCa.importCertFile ? readFileSync(c.internalCa.importCertFile, 'utf8') : null,
          importKeyPem: c.internalCa.importKeyFile ? readFileSync(c.internalCa.importKeyFile, 'utf8') : null,
        }),
    },
    { provide: KEY_VAULT, inject: [PG_POOL], useFactory: (pool: Pool) => new KeyVault(pool, loadMasterKey()) },
  ],
  exports: [CONFIG, PG_POOL, EVENT_STORE, REDIS, CLOCK, KEY_VAULT, JOB_QUEUE, INTERNAL_CA],
})
class InfrastructureModule implements OnApplicationShutdown {
  constructor(
    @Inject(PG_POOL) private readonly pool: Pool,
    @Inject(REDIS) private readonly redis: IORedis,
    @Inject(JOB_QUEUE) private readonly jobs: JobQueue,
  ) {}
  async onApplicationShutdown(): Promise<void> {
    await this.jobs.close().catch(() => undefined);
    await this.redis.quit().catch(() => undefined);
    await this.pool.end();
  }
}

@Module({
  imports: [InfrastructureModule],
  controllers: [
    HealthController,
    CertificatesController,
    ApprovalsController,
    SelectionController,
    TrustController,
    TokensController,
    InternalCaController,
    AcmeChallengeController,
    RenewalsController,
    RenewalSettingsController,
    MetricsController,
    ServicesController,
    EnablementController,
    // The test clock exists only when CERTFLOW_TEST_CLOCK=1.
    ...(loadConfig().testClock ? [TestClockController] : []),
  ],
  providers: [
    TokenService, CertificatesService, CertificateFilesService, TrustService, RenewalsService, RenewalDefaultsFromConfig, { provide: APP_GUARD, useClass: AuthGuard },
    ServicesService, { provide: SERVICE_TARGETS, useFactory: () => new ServiceTargets(loadServicesConfig()) },
  ],
})
export class AppModule {}
