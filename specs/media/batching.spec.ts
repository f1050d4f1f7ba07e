import test from 'ava';
import type { ClientStream } from '../../lib/client';
import { MessageType } from '../../lib/protocol/message';
import { delay, isFrame, isVideoHeader, liveServer, player, publisher, recordedMedia, until } from '../helpers/live';

const header = recordedMedia.find(isVideoHeader)!;
const frames = recordedMedia.filter(isFrame);

/** Sends the recorded video frames, one every `everyMs`, from the first key frame on, until stopped. */
function pacedVideo(stream: ClientStream, everyMs: number): () => void {
  stream.sendMedia({ typeId: MessageType.Video, timestamp: 0, payload: header.payload });
  let sent = 0;
  const timer = setInterval(() => {
    stream.sendMedia({ typeId: MessageType.Video, timestamp: sent * everyMs, payload: frames[sent % frames.length]!.payload });
    sent++;
  }, everyMs);
  return () => clearInterval(timer);
}

/** Of the frames a player received after `from`, the share that arrived within 3 ms of the one before: one write. */
function together(arrivals: number[], from: number): { share: number; gaps: number } {
  const after = arrivals.filter((at) => at >= from);
  const gaps = after.slice(1).map((at, i) => at - after[i]!);
  return { share: gaps.filter((gap) => gap < 3).length / Math.max(1, gaps.length), gaps: gaps.length };
}

test('batching is decided per stream: a fan-out stream’s players get its frames in bursts on its tick, while a one-player stream beside it relays each frame as it comes', async (t) => {
  // 50 frames a second: the four-player stream sends 200 messages a second, the one-player stream 50.
  const { server, registry, url } = await liveServer({ mediaFlushMs: 300, mediaBatchFrom: 120 });
  const stops: (() => void)[] = [];
  try {
    const big = await publisher(url, 'big');
    const small = await publisher(url, 'small');
    stops.push(pacedVideo(big.stream, 20), pacedVideo(small.stream, 20));
    const bigPlayers = await Promise.all([0, 1, 2, 3].map(() => player(url, 'big')));
    const smallPlayer = await player(url, 'small');
    const arrivals = new Map<ClientStream, number[]>();
    for (const { stream } of [...bigPlayers, smallPlayer]) {
      const times: number[] = [];
      arrivals.set(stream, times);
      stream.media$.subscribe((m) => {
        if (isFrame(m)) times.push(performance.now());
      });
    }
    // The rate is measured over a second; then the fan-out stream batches.
    await until(() => registry.get('live', 'big')?.batch?.active() === true, 5_000);
    const from = performance.now();
    await delay(2_000);
    t.false(registry.get('live', 'small')?.batch?.active() ?? true, 'the one-player stream does not batch');
    const bigShares = bigPlayers.map(({ stream }) => together(arrivals.get(stream)!, from));
    const smallShare = together(arrivals.get(smallPlayer.stream)!, from);
    t.log(`frames with the one before: fan-out players ${bigShares.map((s) => s.share.toFixed(2)).join(' ')}, one-player stream ${smallShare.share.toFixed(2)}`);
    for (const share of bigShares) {
      t.true(share.gaps >= 20, `${share.gaps} frames measured`);
      t.true(share.share > 0.6, `a fan-out player got ${(share.share * 100).toFixed(0)}% of its frames with the one before`);
    }
    t.true(smallShare.gaps >= 40, `${smallShare.gaps} frames measured on the one-player stream`);
    t.true(smallShare.share < 0.3, `the one-player stream got ${(smallShare.share * 100).toFixed(0)}% of its frames with the one before`);
    for (const client of [big, small, ...bigPlayers, smallPlayer].map((p) => p.client)) await client.close();
  } finally {
    for (const stop of stops) stop();
    await server.close();
  }
});

test('a publisher is paced only while the stream it feeds batches', async (t) => {
  const { server, registry, url } = await liveServer({ mediaFlushMs: 100, mediaBatchFrom: 120 });
  const stops: (() => void)[] = [];
  try {
    const big = await publisher(url, 'big');
    const small = await publisher(url, 'small');
    stops.push(pacedVideo(big.stream, 10), pacedVideo(small.stream, 10));
    const players = await Promise.all([0, 1].map(() => player(url, 'big')));
    await until(() => registry.get('live', 'big')?.batch?.active() === true, 5_000);
    const publishing = (name: string) => [...server.connections].find((c) => [...c.streams.values()].some((s) => s.state === 'publishing' && s.name === name))!;
    const before = [publishing('big').stats(), publishing('small').stats()];
    await delay(2_000);
    const after = [publishing('big').stats(), publishing('small').stats()];
    const reads = after.map((end, i) => end.readsIn - before[i]!.readsIn);
    t.log(`reads in 2 s: batching stream's publisher ${reads[0]}, other ${reads[1]}`);
    // 100 frames a second each: the paced publisher is read about once per 100 ms tick.
    t.true(reads[1]! > 120, `the other publisher was read ${reads[1]} times, about once per frame`);
    t.true(reads[0]! < reads[1]! / 2, `the batching stream's publisher was read ${reads[0]} times, the other ${reads[1]}`);
    for (const client of [big, small, ...players].map((p) => p.client)) await client.close();
  } finally {
    for (const stop of stops) stop();
    await server.close();
  }
});
