import { Body, Controller, Get, Inject, Injectable, OnApplicationBootstrap, Put } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiPropertyOptional, ApiTags } from '@nestjs/swagger';
import { Allow } from 'class-validator';
import { randomUUID } from 'node:crypto';
import { Clock, EventStore, loadRenewalDefaults, setRenewalDefaults } from '../../../libs/application/src';
import { CertflowConfig } from '../../../libs/config/src';
import { DomainError, RENEWAL_DEFAULTS_STREAM, RenewalDefaults, RenewalDefaultsCommand, parseRenewBefore } from '../../../libs/domain/src';
import { presentEvent } from '../common/event.presenter';
import { READ_ROLES, Roles } from '../auth/roles.decorator';
import { Actor, RequestActor, metadataFor } from '../common/request-context';
import { CLOCK, CONFIG, EVENT_STORE } from '../common/tokens';

/** The body of PUT /settings/renewal: every field optional; `null` clears renewBefore/renewBeforePercentage. */
export class RenewalSettingsDto {
  @ApiPropertyOptional({ type: [Number], example: [30, 14, 7, 3, 1], description: 'Expiry reminders, in days before expiry (then daily after expiry).' })
  @Allow() // checked by the domain, which names the field
  reminderThresholds?: unknown;
  @ApiPropertyOptional({ example: 'P30D', nullable: true, description: 'Renew this long before expiry: days, or an ISO 8601 duration (P30D, P2W, PT12H). null: use the percentage.' })
  @Allow() // checked by the domain, which names the field
  renewBefore?: unknown;
  @ApiPropertyOptional({ example: 33, nullable: true, description: 'Renew when this share of the lifetime remains (0–100). With both null: one third.' })
  @Allow() // checked by the domain, which names the field
  renewBeforePercentage?: unknown;
  @ApiPropertyOptional({ example: 72, description: 'Remind the operator of a manual request whose certificate is not imported after this many hours (and again every as many). 0: never.' })
  @Allow() // checked by the domain, which names the field
  importReminderHours?: unknown;
}

/** The API's words (renewBefore as a duration) to the domain's (renewBeforeMs); unknown fields are passed on to be refused by name. */
function toPatch(body: Record<string, unknown>): RenewalDefaultsCommand['data'] {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new DomainError('InvalidRenewalDefaults', 'The body must be a JSON object of renewal settings.', 'invalid');
  }
  const { renewBefore, ...rest } = body;
  return { ...rest, ...(renewBefore !== undefined ? { renewBeforeMs: renewBefore === null ? null : parseRenewBefore(renewBefore) } : {}) };
}

/** The defaults as the API shows them: renewBefore as an ISO 8601 duration. */
export function presentRenewalDefaults(d: RenewalDefaults) {
  return {
    reminderThresholds: d.reminderThresholds,
    renewBefore: d.renewBeforeMs === null ? null : isoDuration(d.renewBeforeMs),
    renewBeforePercentage: d.renewBeforePercentage,
    importReminderHours: d.importReminderHours,
    // What applies when both are null, in words.
    renewalRule:
      d.renewBeforeMs !== null
        ? `renew ${isoDuration(d.renewBeforeMs)} before expiry`
        : d.renewBeforePercentage !== null
          ? `renew when ${d.renewBeforePercentage}% of the lifetime remains`
          : 'renew when one third of the lifetime remains',
  };
}

const isoDuration = (ms: number): string => {
  const days = Math.floor(ms / 86_400_000);
  const hours = Math.floor((ms % 86_400_000) / 3_600_000);
  const minutes = Math.floor((ms % 3_600_000) / 60_000);
  return `P${days ? `${days}D` : ''}${hours || minutes ? `T${hours ? `${hours}H` : ''}${minutes ? `${minutes}M` : ''}` : ''}` || 'PT0M';
};

@ApiTags('settings')
@ApiBearerAuth()
@Controller('settings/renewal')
export class RenewalSettingsController {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  @Get()
  @Roles(...READ_ROLES)
  @ApiOperation({ summary: 'The fleet-wide renewal defaults that certificates without their own setting follow.' })
  async get() {
    return presentRenewalDefaults(await loadRenewalDefaults(this.store));
  }

  @Get('events')
  @Roles(...READ_ROLES)
  @ApiOperation({ summary: 'Every change of the fleet-wide renewal defaults: who (actor `config` for the environment), when, from what to what.' })
  async history() {
    return { items: (await this.store.readStream(RENEWAL_DEFAULTS_STREAM)).map(presentEvent) };
  }

  @Put()
  @Roles('admin')
  @ApiOperation({
    summary: 'Change the fleet-wide renewal defaults (audited). Fields left out keep their value; the timers of every certificate that follows the defaults move at once.',
  })
  async put(@Body() body: RenewalSettingsDto, @Actor() who: RequestActor) {
    const { defaults, changed } = await setRenewalDefaults(this.store, toPatch(body as Record<string, unknown>), who.actor, metadataFor(who, this.clock.now()));
    return { ...presentRenewalDefaults(defaults), changed };
  }
}

/**
 * At start, records the renewal defaults set in the environment (CERTFLOW_REMINDER_DAYS,
 * CERTFLOW_RENEW_BEFORE, CERTFLOW_RENEW_BEFORE_PERCENTAGE, CERTFLOW_IMPORT_REMINDER_HOURS) as the
 * actor `config`, when they differ from the recorded ones. A bad value stops the start with the
 * variable named.
 */
@Injectable()
export class RenewalDefaultsFromConfig implements OnApplicationBootstrap {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(CONFIG) private readonly config: CertflowConfig,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const env = this.config.renewalDefaults;
    if (Object.keys(env).length === 0) return;
    try {
      const patch = toPatch(env as Record<string, unknown>);
      if (env.renewBefore !== undefined && env.renewBeforePercentage === undefined) patch.renewBeforePercentage = null;
      if (env.renewBeforePercentage !== undefined && env.renewBefore === undefined) patch.renewBeforeMs = null;
      await setRenewalDefaults(this.store, patch, 'config', { actor: 'config', at: this.clock.now().toISOString(), correlationId: randomUUID(), causationId: null });
    } catch (e) {
      if (e instanceof DomainError) throw new Error(`The renewal settings in the environment (CERTFLOW_REMINDER_DAYS, CERTFLOW_RENEW_BEFORE, CERTFLOW_RENEW_BEFORE_PERCENTAGE, CERTFLOW_IMPORT_REMINDER_HOURS) are not valid: ${e.message}`);
      throw e;
    }
  }
}
