import { catchError, concatMap, defer, EMPTY, groupBy, ignoreElements, mergeMap, OperatorFunction } from 'rxjs';

/**
 * Runs a handler per command without letting a slow one block the others:
 * commands on message stream 0 (connect, calls, createStream) run concurrently,
 * commands on one NetStream run in order (play before pause), streams independently.
 * A handler that throws is reported through `onError` and the pipeline goes on.
 */
export function dispatchCommands<T extends { streamId: number }>(
  handle: (command: T) => Promise<void> | void,
  onError: (error: unknown) => void,
): OperatorFunction<T, never> {
  const run = (command: T) =>
    defer(async () => handle(command)).pipe(
      catchError((error: unknown) => {
        onError(error);
        return EMPTY;
      }),
    );
  return (source) =>
    source.pipe(
      groupBy((command) => command.streamId),
      mergeMap((group) => (group.key === 0 ? group.pipe(mergeMap(run)) : group.pipe(concatMap(run)))),
      ignoreElements(),
    );
}
