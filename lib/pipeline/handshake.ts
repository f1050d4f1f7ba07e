import { Observable, OperatorFunction } from 'rxjs';
import { ClientHandshake, HandshakeScheme, HandshakeStep, ServerHandshake } from '../protocol/handshake';

export interface HandshakeHooks {
  /** Raw bytes to write to the peer (S0/S1/S2 or C2). */
  send(bytes: Buffer): void;
  /** Called once, when the handshake is complete, before the first chunk bytes are emitted. */
  done?(scheme: HandshakeScheme | undefined): void;
}

export type HandshakeParty = { push(data: Buffer): HandshakeStep; readonly scheme: HandshakeScheme | undefined };

/**
 * Feeds `data` to the handshake and sends its answers. Returns undefined while it goes
 * on, or the bytes after it (maybe none) once it is done; throws what does not parse.
 */
export function advanceHandshake(party: HandshakeParty, data: Buffer, hooks: HandshakeHooks): Buffer | undefined {
  const step = party.push(data);
  for (const bytes of step.output) hooks.send(bytes);
  if (!step.done) return undefined;
  hooks.done?.(party.scheme);
  return step.leftover;
}

function handshakeOperator(createParty: () => HandshakeParty, hooks: HandshakeHooks): OperatorFunction<Buffer, Buffer> {
  return (source) =>
    new Observable<Buffer>((subscriber) => {
      // Dropped once done, so a long-lived connection does not keep the handshake's packets.
      let pending: HandshakeParty | undefined = createParty();
      return source.subscribe({
        next(data) {
          if (pending === undefined) return subscriber.next(data);
          let leftover: Buffer | undefined;
          try {
            leftover = advanceHandshake(pending, data, hooks);
          } catch (error) {
            return subscriber.error(error);
          }
          if (leftover === undefined) return;
          pending = undefined;
          if (leftover.length > 0) subscriber.next(leftover);
        },
        error: (error) => subscriber.error(error),
        complete: () => subscriber.complete(),
      });
    });
}

/**
 * Server side: consumes C0/C1/C2, answers S0/S1/S2 through `hooks.send`, then passes
 * the chunk stream bytes through (starting with any bytes that came after C2).
 */
export function acceptHandshake(hooks: HandshakeHooks, createHandshake: () => ServerHandshake = () => new ServerHandshake()): OperatorFunction<Buffer, Buffer> {
  return handshakeOperator(createHandshake, hooks);
}

/** Client side: the caller has sent `handshake.start()`; this consumes S0/S1/S2 and answers C2. */
export function initiateHandshake(hooks: HandshakeHooks, handshake: ClientHandshake): OperatorFunction<Buffer, Buffer> {
  return handshakeOperator(() => handshake, hooks);
}
