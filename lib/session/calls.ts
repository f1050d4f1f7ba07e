import { firstValueFrom, isObservable, Observable, Subject } from 'rxjs';
import { AmfValue } from '../protocol/amf/values';
import type { Connection } from './connection';
import type { CallEvent, CallHandler } from './handlers';

export interface CallHost {
  readonly connection: Connection;
  /** Sends `_result` (ok) or `_error` (NetConnection.Call.Failed) for a transaction. */
  reply(transactionId: number, result: 'ok' | 'error', value: AmfValue, description?: string): void;
  /** Sends a command the client should answer. */
  send(name: string, transactionId: number, args: AmfValue[]): void;
  handlerFor(procedure: string): CallHandler | undefined;
  warn(message: string): void;
}

interface PendingInvoke {
  resolve(value: AmfValue): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
}

export class CallError extends Error {
  override readonly name = 'CallError';
  constructor(
    message: string,
    /** What the peer sent with its `_error`, if it answered. */
    readonly info?: AmfValue,
  ) {
    super(message);
  }
}

/**
 * Remote procedure calls in both directions: client → server calls go to handlers
 * (or to `calls()` subscribers), server → client calls wait for the client's answer.
 */
export class CallDispatcher {
  // Made on first use: most connections never observe calls or invoke the client.
  private observedCalls: Map<string, Subject<CallEvent>> | undefined;
  private pendingInvokes: Map<number, PendingInvoke> | undefined;

  private get observed(): Map<string, Subject<CallEvent>> {
    return (this.observedCalls ??= new Map());
  }

  private get pending(): Map<number, PendingInvoke> {
    return (this.pendingInvokes ??= new Map());
  }
  /** Server-side transaction ids; the client numbers its own separately. */
  private nextTransactionId = 1;
  private inFlightCount = 0;
  private idleWaiters: Array<() => void> = [];

  constructor(private readonly host: CallHost) {}

  /** Every call of `procedure` (or of all procedures, for `*`) as it arrives. */
  calls(procedure: string): Observable<CallEvent> {
    let subject = this.observed.get(procedure);
    if (subject === undefined) {
      subject = new Subject<CallEvent>();
      this.observed.set(procedure, subject);
    }
    return subject.asObservable();
  }

  async dispatch(procedure: string, transactionId: number, commandObject: AmfValue, args: AmfValue[]): Promise<void> {
    let answered = false;
    const answer = (result: 'ok' | 'error', value: AmfValue, description?: string): void => {
      if (answered) return;
      answered = true;
      if (transactionId > 0) this.host.reply(transactionId, result, value, description);
      else if (result === 'error') this.host.warn(`call ${procedure} (no answer expected) failed: ${description}`);
    };
    const event: CallEvent = {
      connection: this.host.connection,
      procedure,
      transactionId,
      commandObject,
      args,
      respond: (value) => answer('ok', value),
      fail: (error) => answer('error', null, typeof error === 'string' ? error : error.message),
      get answered() {
        return answered;
      },
    };
    const specific = this.observedCalls?.get(procedure);
    const watchers = (specific?.observed ? 1 : 0) + (this.observedCalls?.get('*')?.observed ? 1 : 0);
    specific?.next(event);
    this.observedCalls?.get('*')?.next(event);

    const handler = this.host.handlerFor(procedure);
    if (handler === undefined) {
      if (watchers === 0) event.fail(`Method ${procedure} not found.`);
      return;
    }
    this.inFlightCount++;
    try {
      const result = handler(event);
      const value = isObservable(result) ? await firstValueFrom(result, { defaultValue: undefined }) : await result;
      event.respond(value);
    } catch (error) {
      event.fail(error instanceof Error ? error : String(error));
    } finally {
      if (--this.inFlightCount === 0) for (const wake of this.idleWaiters.splice(0)) wake();
    }
  }

  /** Calls whose handler has not answered yet. */
  get inFlight(): number {
    return this.inFlightCount;
  }

  /** Resolves once no handler is running, for a graceful shutdown. */
  whenIdle(): Promise<void> {
    if (this.inFlightCount === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  invoke(procedure: string, args: AmfValue[], timeout: number): Promise<AmfValue> {
    const transactionId = this.nextTransactionId++;
    return new Promise<AmfValue>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(transactionId);
        reject(new CallError(`${procedure}: no answer from the client within ${timeout} ms`));
      }, timeout);
      this.pending.set(transactionId, { resolve, reject, timer });
      this.host.send(procedure, transactionId, args);
    });
  }

  /** A `_result` or `_error` from the client; false when it answers nothing we asked. */
  settle(kind: 'result' | 'error', transactionId: number, args: AmfValue[]): boolean {
    const pending = this.pendingInvokes?.get(transactionId);
    if (pending === undefined) return false;
    this.pending.delete(transactionId);
    clearTimeout(pending.timer);
    if (kind === 'result') pending.resolve(args.length <= 1 ? (args[0] ?? null) : args);
    else {
      const info = args[0];
      const description = typeof info === 'object' && info !== null && 'description' in info ? String(info.description) : 'the client answered _error';
      pending.reject(new CallError(description, info));
    }
    return true;
  }

  /** The connection ended: outstanding invocations fail and observers complete. */
  close(reason: string): void {
    for (const [id, pending] of this.pendingInvokes ?? []) {
      clearTimeout(pending.timer);
      pending.reject(new CallError(`connection closed: ${reason}`));
      this.pending.delete(id);
    }
    for (const subject of this.observedCalls?.values() ?? []) subject.complete();
    this.observedCalls?.clear();
  }
}
