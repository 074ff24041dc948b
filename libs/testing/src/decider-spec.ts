import { DomainError, DomainErrorKind } from '../../domain/src/domain-error';

/**
 * given(events).when(command).then(events) / .thenRefused(code, kind) for any decider.
 * `checkMessage` adds a spec's own checks on a refusal's message (e.g. that it reads as a sentence).
 */
export function deciderSpec<C, E, S>(decider: {
  decide(command: C, state: S): E[];
  evolve(state: S, event: E): S;
  initialState(): S;
  checkMessage?(message: string): void;
}) {
  const fold = (events: readonly E[]): S => events.reduce(decider.evolve, decider.initialState());
  return function given(history: readonly E[]) {
    return {
      when(command: C) {
        const before = fold(history);
        let produced: E[] | undefined;
        let thrown: unknown;
        try {
          produced = decider.decide(command, before);
        } catch (e) {
          thrown = e;
        }
        return {
          /** Asserts the command produced exactly these events; returns the state after them. */
          then(expected: E[]): S {
            if (thrown !== undefined) throw new Error(`expected events, but the command was refused: ${String(thrown)}`);
            expect(produced).toEqual(expected);
            return fold([...history, ...produced!]);
          },
          /** Asserts the command was refused with this code and kind; returns the error. */
          thenRefused(code: string, kind: DomainErrorKind): DomainError {
            expect(produced).toBeUndefined();
            expect(thrown).toBeInstanceOf(DomainError);
            const error = thrown as DomainError;
            expect({ code: error.code, kind: error.kind }).toEqual({ code, kind });
            decider.checkMessage?.(error.message);
            return error;
          },
        };
      },
    };
  };
}
