import { AmfValue } from '../protocol/amf/values';
import { ClientTimeoutError } from './errors';

/** What the server answered a transaction with: `_result` or `_error`, with its command object and arguments. */
export interface Answer {
  kind: 'result' | 'error';
  commandObject: AmfValue;
  args: AmfValue[];
}

interface Pending {
  resolve(answer: Answer): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
}

/**
 * The client's outstanding transactions: each has an id, a timer and a promise that
 * the server's `_result` or `_error` settles. Ids start at 2 (1 is connect's).
 */
export class Transactions {
  private readonly pending = new Map<number, Pending>();
  private nextId = 2;
  private closedWith: Error | undefined;

  get size(): number {
    return this.pending.size;
  }

  /**
   * Opens a transaction: `send` gets the id to write, the promise resolves with the
   * answer, or rejects after `timeout` ms or when `rejectAll` is called.
   */
  open(what: string, timeout: number, send: (transactionId: number) => void, transactionId = this.nextId++): Promise<Answer> {
    if (this.closedWith !== undefined) return Promise.reject(this.closedWith);
    return new Promise<Answer>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(transactionId);
        reject(new ClientTimeoutError(`${what}: no answer from the server within ${timeout} ms`));
      }, timeout);
      this.pending.set(transactionId, { resolve, reject, timer });
      try {
        send(transactionId);
      } catch (error) {
        this.pending.delete(transactionId);
        clearTimeout(timer);
        reject(error instanceof Error ? error : new Error(String(error)));
      }
    });
  }

  /** A `_result` / `_error` arrived; false when it answers nothing we asked (or asked too long ago). */
  settle(transactionId: number, answer: Answer): boolean {
    const pending = this.pending.get(transactionId);
    if (pending === undefined) return false;
    this.pending.delete(transactionId);
    clearTimeout(pending.timer);
    pending.resolve(answer);
    return true;
  }

  /** The connection ended: every open transaction fails with `error`, and so does every later one. */
  rejectAll(error: Error): void {
    this.closedWith ??= error;
    for (const [id, pending] of this.pending) {
      clearTimeout(pending.timer);
      this.pending.delete(id);
      pending.reject(error);
    }
  }
}
