import {
  RENEWAL_DEFAULTS_STREAM,
  RenewalDefaults,
  RenewalDefaultsCommand,
  RenewalDefaultsEvent,
  RenewalDefaultsState,
  decideRenewalDefaults,
  evolveRenewalDefaults,
  initialRenewalDefaultsState,
} from '../../../domain/src';
import { Decider, handleCommand, loadAggregate } from '../command-handler';
import { EventMetadata, EventStore } from '../ports';

export const renewalDefaultsDecider: Decider<RenewalDefaultsCommand, RenewalDefaultsEvent, RenewalDefaultsState> = {
  decide: decideRenewalDefaults,
  evolve: evolveRenewalDefaults,
  initialState: initialRenewalDefaultsState,
};

/** The fleet-wide renewal defaults in force (the built-in ones until a change is recorded). */
export async function loadRenewalDefaults(store: EventStore): Promise<RenewalDefaults> {
  return (await loadAggregate(store, renewalDefaultsDecider, RENEWAL_DEFAULTS_STREAM)).state.defaults;
}

/**
 * Changes the fleet-wide defaults (fields left out keep their value). Records nothing when
 * nothing changes. Returns the defaults in force afterwards and whether they changed.
 */
export async function setRenewalDefaults(
  store: EventStore,
  patch: RenewalDefaultsCommand['data'],
  actor: string,
  metadata: EventMetadata,
): Promise<{ defaults: RenewalDefaults; changed: boolean }> {
  const result = await handleCommand(store, renewalDefaultsDecider, RENEWAL_DEFAULTS_STREAM, { type: 'SetRenewalDefaults', data: patch, actor }, metadata);
  return { defaults: result.state.defaults, changed: result.newEvents.length > 0 };
}
