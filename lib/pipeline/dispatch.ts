import { Observable, OperatorFunction } from 'rxjs';

/** One NetStream's commands: the one running, and those waiting behind it. */
interface StreamLane<T> {
  running: boolean;
  waiting: T[];
}

/**
 * The dispatch rule, without an Observable around it: commands on message stream 0
 * (connect, calls, createStream) run concurrently, commands on one NetStream run in
 * order (play before pause), streams independently. A handler starts at once when
 * nothing runs ahead of it. A handler that throws or rejects is reported through
 * `onError` and the rest go on. Connections push into one directly; lanes are made
 * only for streams that have commands.
 */
export class CommandQueue<T extends { streamId: number }> {
  private lanes: Map<number, StreamLane<T>> | undefined;
  private running = 0;
  private closed = false;
  private whenIdle: (() => void) | undefined;

  constructor(
    private readonly handle: (command: T) => Promise<void> | void,
    private readonly onError: (error: unknown) => void,
  ) {}

  /** Commands taken and not yet settled: running, or waiting for their stream. */
  get inFlight(): number {
    return this.running;
  }

  push(command: T): void {
    if (this.closed) return;
    this.running++;
    if (command.streamId === 0) {
      void this.start(command);
      return;
    }
    const lanes = (this.lanes ??= new Map());
    let lane = lanes.get(command.streamId);
    if (lane === undefined) {
      lane = { running: false, waiting: [] };
      lanes.set(command.streamId, lane);
    }
    if (lane.running) lane.waiting.push(command);
    else this.runInLane(command.streamId, lane, command);
  }

  /** Drops what waits; handlers already running finish, but nothing starts after them. */
  close(): void {
    this.closed = true;
    for (const lane of this.lanes?.values() ?? []) this.running -= lane.waiting.length;
    this.lanes = undefined;
  }

  /** Calls `idle` once nothing runs (at once when nothing does). */
  onceIdle(idle: () => void): void {
    if (this.running === 0) idle();
    else this.whenIdle = idle;
  }

  private runInLane(streamId: number, lane: StreamLane<T>, command: T): void {
    lane.running = true;
    void this.start(command).then(() => {
      const next = this.closed ? undefined : lane.waiting.shift();
      if (next !== undefined) return this.runInLane(streamId, lane, next);
      lane.running = false;
      // A player's one command (play) leaves no empty map behind for the rest of its life.
      if (this.lanes?.get(streamId) === lane && this.lanes.delete(streamId) && this.lanes.size === 0) this.lanes = undefined;
    });
  }

  private start(command: T): Promise<void> {
    let result: Promise<void> | void;
    try {
      result = this.handle(command);
    } catch (error) {
      result = Promise.reject(error);
    }
    return Promise.resolve(result).then(
      () => this.settled(),
      (error: unknown) => {
        this.settled();
        this.onError(error);
      },
    );
  }

  private settled(): void {
    this.running--;
    if (this.running > 0 || this.whenIdle === undefined) return;
    const idle = this.whenIdle;
    this.whenIdle = undefined;
    idle();
  }
}

/**
 * Runs a handler per command without letting a slow one block the others, by the rule
 * of `CommandQueue`. Completes once the source has completed and every handler has
 * settled; unsubscribing drops the commands still waiting.
 */
export function dispatchCommands<T extends { streamId: number }>(
  handle: (command: T) => Promise<void> | void,
  onError: (error: unknown) => void,
): OperatorFunction<T, never> {
  return (source) =>
    new Observable<never>((subscriber) => {
      const queue = new CommandQueue(handle, onError);
      const subscription = source.subscribe({
        next: (command) => queue.push(command),
        error: (error: unknown) => subscriber.error(error),
        complete: () => queue.onceIdle(() => subscriber.complete()),
      });
      return () => {
        subscription.unsubscribe();
        queue.close();
      };
    });
}
