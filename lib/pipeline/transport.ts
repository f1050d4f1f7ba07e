import { Observable } from 'rxjs';
import type { Duplex } from 'node:stream';

/**
 * The bytes a transport delivers, as an Observable: completes when the peer ends
 * the stream or it closes, errors on a transport error. Any duplex byte stream
 * works: a TCP or TLS socket, or a WebSocket wrapped as a stream.
 */
export function fromTransport(transport: Duplex): Observable<Buffer> {
  return new Observable<Buffer>((subscriber) => {
    const onData = (data: Buffer | string): void => subscriber.next(typeof data === 'string' ? Buffer.from(data) : data);
    const onEnd = (): void => subscriber.complete();
    const onError = (error: Error): void => subscriber.error(error);
    transport.on('data', onData);
    transport.on('end', onEnd);
    transport.on('close', onEnd);
    transport.on('error', onError);
    return () => {
      transport.off('data', onData);
      transport.off('end', onEnd);
      transport.off('close', onEnd);
      transport.off('error', onError);
    };
  });
}
