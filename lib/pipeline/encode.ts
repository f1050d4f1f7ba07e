import { Observable, OperatorFunction } from 'rxjs';
import { Frame, VideoEncoder } from '../plugins/contract';
import { convertFrame } from '../plugins/pixels';

export interface TimedFrame {
  frame: Frame;
  /** Milliseconds on the stream's timeline. */
  time: number;
  /** Ask the encoder for a key frame (a player is waiting for one). */
  keyFrame?: boolean;
}

export interface EncodedPacket {
  time: number;
  /** An FLV video tag body. */
  data: Buffer;
  keyFrame: boolean;
  /** A decoder configuration to keep for new players (H.264's AVC sequence header). */
  sequenceHeader: boolean;
}

export interface EncodeOptions {
  /** Told how many frames were skipped so far each time one is. */
  onSkip?: (skipped: number) => void;
}

/**
 * Frames → encoded video through one encoder. A frame that arrives while the
 * encoder is still busy is skipped, never queued, so a slow encoder lowers the
 * frame rate instead of the latency; the next frame is coded against the last one
 * actually encoded. The encoder is initialised on the first frame (and again when
 * the picture size changes), and its sequence header, if any, is emitted first.
 */
export function encodeWith(encoder: VideoEncoder, options: EncodeOptions = {}): OperatorFunction<TimedFrame, EncodedPacket> {
  return (source) =>
    new Observable<EncodedPacket>((subscriber) => {
      let busy = false;
      let skipped = 0;
      let size = '';
      let sourceDone = false;
      const run = async ({ frame, time, keyFrame }: TimedFrame): Promise<void> => {
        const frameSize = `${frame.width}x${frame.height}`;
        let forceKey = keyFrame === true;
        if (frameSize !== size) {
          const header = await encoder.init(frame.width, frame.height);
          size = frameSize;
          forceKey = true;
          if (header) subscriber.next({ time, data: header, keyFrame: true, sequenceHeader: true });
        }
        const format = encoder.pixelFormats.includes(frame.format) ? frame.format : encoder.pixelFormats[0]!;
        const encoded = await encoder.encode(convertFrame(frame, format), { keyFrame: forceKey });
        subscriber.next({ time, data: encoded.data, keyFrame: encoded.keyFrame, sequenceHeader: false });
      };
      const subscription = source.subscribe({
        next(timed) {
          if (busy) {
            skipped++;
            options.onSkip?.(skipped);
            return;
          }
          busy = true;
          run(timed).then(
            () => {
              busy = false;
              if (sourceDone) subscriber.complete();
            },
            (error: unknown) => subscriber.error(error),
          );
        },
        error: (error) => subscriber.error(error),
        complete() {
          sourceDone = true;
          if (!busy) subscriber.complete();
        },
      });
      return () => subscription.unsubscribe();
    });
}
