import { ConcurrencyError, EventMetadata, EventStore, RecordedEvent } from './ports';

export interface Decider<C, E extends { type: string; data: unknown }, S> {
  decide(command: C, state: S): E[];
  evolve(state: S, event: E): S;
  initialState(): S;
}

export interface HandleResult<E extends { type: string; data: unknown }, S> {
  readonly state: S;
  readonly version: number;
  readonly newEvents: readonly RecordedEvent<E>[];
}

/**
 * Load → decide → append with the expected version; on a concurrent append, reload and decide
 * again (the command may now be refused, which is the correct answer). DomainErrors pass through.
 */
export async function handleCommand<C, E extends { type: string; data: unknown }, S>(
  store: EventStore,
  decider: Decider<C, E, S>,
  streamId: string,
  command: C,
  metadata: EventMetadata,
  options: { retries?: number } = {},
): Promise<HandleResult<E, S>> {
  const retries = options.retries ?? 3;
  for (let attempt = 0; ; attempt++) {
    const history = (await store.readStream(streamId)) as RecordedEvent<E>[];
    const state = history.reduce((s, e) => decider.evolve(s, { type: e.type, data: e.data } as E), decider.initialState());
    const events = decider.decide(command, state);
    // A command that changes nothing (e.g. settings set to what they are) records nothing.
    if (events.length === 0) return { state, version: history.length, newEvents: [] };
    try {
      const result = await store.appendToStream(streamId, events, { expectedVersion: history.length, metadata });
      const newState = events.reduce(decider.evolve, state);
      return { state: newState, version: result.nextExpectedVersion, newEvents: result.events as RecordedEvent<E>[] };
    } catch (e) {
      if (e instanceof ConcurrencyError && attempt < retries) continue;
      throw e;
    }
  }
}

export async function loadAggregate<E extends { type: string; data: unknown }, S>(
  store: EventStore,
  decider: Pick<Decider<unknown, E, S>, 'evolve' | 'initialState'>,
  streamId: string,
  options?: { untilAt?: string },
): Promise<{ state: S; version: number; events: RecordedEvent<E>[] }> {
  const events = (await store.readStream(streamId, options)) as RecordedEvent<E>[];
  const state = events.reduce((s, e) => decider.evolve(s, { type: e.type, data: e.data } as E), decider.initialState());
  return { state, version: events.length, events };
}
