import { Observable } from 'rxjs';
import type { Duplex } from 'node:stream';

/** What a reader of a transport hears: its bytes, its end (or close), its error. */
export interface TransportListeners {
  data(data: Buffer | string): void;
  end(): void;
  error(error: Error): void;
}

/** Attaches `listeners` to the transport; the function returned detaches them. */
export function listenTo(transport: Duplex, listeners: TransportListeners): () => void {
  const { data, end, error } = listeners;
  transport.on('data', data);
  transport.on('end', end);
  transport.on('close', end);
  transport.on('error', error);
  return () => {
    transport.off('data', data);
    transport.off('end', end);
    transport.off('close', end);
    transport.off('error', error);
  };
}

/**
 * The bytes a transport delivers, as an Observable: completes when the peer ends
 * the stream or it closes, errors on a transport error. Any duplex byte stream
 * works: a TCP or TLS socket, or a WebSocket wrapped as a stream.
 */
export function fromTransport(transport: Duplex): Observable<Buffer> {
  return new Observable<Buffer>((subscriber) =>
    listenTo(transport, {
      data: (data) => subscriber.next(typeof data === 'string' ? Buffer.from(data) : data),
      end: () => subscriber.complete(),
      error: (error) => subscriber.error(error),
    }),
  );
}
