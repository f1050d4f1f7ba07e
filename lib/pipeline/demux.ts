import { Observable, OperatorFunction } from 'rxjs';
import { ChunkDecoder, ChunkDecoderLimits } from '../protocol/chunk/decoder';
import { RtmpMessage } from '../protocol/message';

/**
 * Chunk stream bytes → whole messages. Payloads may be views on the input buffers;
 * a subscriber that keeps one beyond the current tick keeps that input alive too.
 */
export function demuxChunks(limits: Partial<ChunkDecoderLimits> = {}): OperatorFunction<Buffer, RtmpMessage> {
  return (source) =>
    new Observable<RtmpMessage>((subscriber) => {
      const decoder = new ChunkDecoder((message) => subscriber.next(message), limits);
      return source.subscribe({
        next(data) {
          try {
            decoder.push(data);
          } catch (error) {
            subscriber.error(error);
          }
        },
        error: (error) => subscriber.error(error),
        complete: () => subscriber.complete(),
      });
    });
}
