import test from 'ava';
import { firstValueFrom, Observable, Subject, toArray } from 'rxjs';
import { encodeWith, EncodedPacket, TimedFrame } from '../../lib/pipeline/encode';
import { Frame } from '../../lib/plugins/contract';
import { convertFrame } from '../../lib/plugins/pixels';
import { FakeEncoder } from '../helpers/fake-encoder';

/** Feeds frames one at a time, each after the previous has had time to encode. */
function paced(frames: TimedFrame[]) {
  return new Observable<TimedFrame>((subscriber) => {
    void (async () => {
      for (const f of frames) {
        subscriber.next(f);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      subscriber.complete();
    })();
  });
}

const frame = (marker: number, width = 4, height = 2): Frame => ({ width, height, format: 'bgr24', data: new Uint8Array(width * height * 3).fill(marker) });

test('encodes every frame in order when the encoder keeps up, the first as a key frame', async (t) => {
  const encoder = new FakeEncoder();
  const frames: TimedFrame[] = [1, 2, 3].map((n) => ({ frame: frame(n), time: n * 33 }));
  const packets = await firstValueFrom(paced(frames).pipe(encodeWith(encoder), toArray()));
  t.deepEqual(packets.map((p) => [p.time, p.data[1], p.keyFrame]), [[33, 1, true], [66, 2, false], [99, 3, false]]);
});

test('frames that arrive while the encoder is busy are skipped and counted, not queued', async (t) => {
  const encoder = new FakeEncoder(30);
  const skips: number[] = [];
  const input = new Subject<TimedFrame>();
  const out: EncodedPacket[] = [];
  const done = new Promise<void>((resolve) => input.pipe(encodeWith(encoder, { onSkip: (n) => skips.push(n) })).subscribe({ next: (p) => out.push(p), complete: resolve }));
  input.next({ frame: frame(1), time: 0 });
  input.next({ frame: frame(2), time: 10 });
  input.next({ frame: frame(3), time: 20 });
  await new Promise((resolve) => setTimeout(resolve, 60));
  input.next({ frame: frame(4), time: 70 });
  input.complete();
  await done;
  t.deepEqual(out.map((p) => p.data[1]), [1, 4], 'frames 2 and 3 were skipped');
  t.deepEqual(skips, [1, 2]);
  t.deepEqual(encoder.encoded.map((f) => f.data[0]), [1, 4], 'the encoder never saw the skipped frames');
});

test('a requested key frame is passed to the encoder, and a new size re-initialises with a key frame', async (t) => {
  const encoder = new FakeEncoder();
  const packets = await firstValueFrom(
    paced([
      { frame: frame(1), time: 0 },
      { frame: frame(2), time: 33 },
      { frame: frame(3), time: 66, keyFrame: true },
      { frame: frame(4, 8, 4), time: 99 },
    ]).pipe(encodeWith(encoder), toArray()),
  );
  t.deepEqual(packets.map((p) => p.keyFrame), [true, false, true, true]);
});

test('frames in a format the encoder does not take are converted (RGBA → BGR24)', async (t) => {
  const encoder = new FakeEncoder();
  const rgba: Frame = { width: 1, height: 1, format: 'rgba', data: Uint8Array.of(10, 20, 30, 255) };
  await firstValueFrom(paced([{ frame: rgba, time: 0 }]).pipe(encodeWith(encoder), toArray()));
  t.deepEqual([...encoder.encoded[0]!.data], [30, 20, 10]);
  t.deepEqual([...convertFrame(encoder.encoded[0]!, 'rgba').data], [10, 20, 30, 255]);
});
