import type { Duplex } from 'node:stream';
import { Observable } from 'rxjs';
import { ChunkDecoder, ChunkDecoderLimits } from '../protocol/chunk/decoder';
import { ServerHandshake } from '../protocol/handshake';
import { RtmpMessage } from '../protocol/message';
import { advanceHandshake, HandshakeHooks } from './handshake';
import { listenTo } from './transport';

export interface InboundOptions {
  /** The server side of the handshake: its answers, and the moment it is done. */
  handshake: HandshakeHooks;
  createHandshake?: () => ServerHandshake;
  limits?: Partial<ChunkDecoderLimits>;
  /** Every read from the transport, before it is decoded (byte counts, acknowledgements, pacing). */
  onRead?(bytes: number): void;
}

/**
 * A server connection's inbound messages: the same as
 * `fromTransport(t).pipe(tap(onRead), acceptHandshake(hooks), demuxChunks(limits))`,
 * in one subscriber instead of four. Every connection holds its pipeline for its whole
 * life, and each operator of a chain costs a subscriber and its closures; thousands of
 * idle connections made that a fifth of their heap. A handshake or chunk that does not
 * parse errors the Observable, as the chain does.
 */
export function receiveMessages(transport: Duplex, options: InboundOptions): Observable<RtmpMessage> {
  return new Observable<RtmpMessage>((subscriber) => {
    const { handshake: hooks, onRead } = options;
    // Dropped once done, so a long-lived connection does not keep the handshake's packets.
    let handshake: ServerHandshake | undefined = (options.createHandshake ?? (() => new ServerHandshake()))();
    const decoder = new ChunkDecoder((message) => subscriber.next(message), options.limits);
    const onData = (data: Buffer | string): void => {
      const bytes = typeof data === 'string' ? Buffer.from(data) : data;
      onRead?.(bytes.length);
      try {
        if (handshake === undefined) return decoder.push(bytes);
        const leftover = advanceHandshake(handshake, bytes, hooks);
        if (leftover === undefined) return;
        handshake = undefined;
        if (leftover.length > 0) decoder.push(leftover);
      } catch (error) {
        subscriber.error(error);
      }
    };
    return listenTo(transport, { data: onData, end: () => subscriber.complete(), error: (error) => subscriber.error(error) });
  });
}
