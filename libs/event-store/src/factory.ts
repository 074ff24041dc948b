import { Pool } from 'pg';
import {
  ACME_ACCOUNT_EVENT_SCHEMA_VERSIONS,
  API_TOKEN_EVENT_SCHEMA_VERSIONS,
  CERTIFICATE_EVENT_SCHEMA_VERSIONS,
  INTERNAL_CA_EVENT_SCHEMA_VERSIONS,
  RENEWAL_DEFAULTS_EVENT_SCHEMA_VERSIONS,
  SERVICE_BINDING_EVENT_SCHEMA_VERSIONS,
  TRUST_ROOT_EVENT_SCHEMA_VERSIONS,
} from '../../domain/src';
import { PostgresEventStore } from './event-store.adapter';
import { ApiTokensProjection } from './projections/api-tokens.projection';
import { CertificateViewProjection } from './projections/certificate-view.projection';
import { TrustedRootsProjection } from './projections/trusted-roots.projection';
import { InternalCaProjection } from './projections/internal-ca.projection';
import { ServiceBindingsProjection } from './projections/service-bindings.projection';
import { Upcaster, UpcasterRegistry } from './upcasters';

/** Current schema version of every event type certflow writes. */
export const EVENT_SCHEMA_VERSIONS: Record<string, number> = {
  ...CERTIFICATE_EVENT_SCHEMA_VERSIONS,
  ...API_TOKEN_EVENT_SCHEMA_VERSIONS,
  ...TRUST_ROOT_EVENT_SCHEMA_VERSIONS,
  ...INTERNAL_CA_EVENT_SCHEMA_VERSIONS,
  ...ACME_ACCOUNT_EVENT_SCHEMA_VERSIONS,
  ...SERVICE_BINDING_EVENT_SCHEMA_VERSIONS,
  ...RENEWAL_DEFAULTS_EVENT_SCHEMA_VERSIONS,
};

/** Upcasters for stored events of older schema versions (none yet: every type is at version 1). */
export const UPCASTERS: readonly Upcaster[] = [];

export function createEventStore(pool: Pool): PostgresEventStore {
  return new PostgresEventStore(pool, new UpcasterRegistry(EVENT_SCHEMA_VERSIONS, UPCASTERS), [
    new CertificateViewProjection(),
    new ApiTokensProjection(),
    new TrustedRootsProjection(),
    new InternalCaProjection(),
    new ServiceBindingsProjection(),
  ]);
}
