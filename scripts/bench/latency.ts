/**
 * Time to first frame (our RtmpClient playing a stream that ffmpeg is publishing) and
 * relay latency (our RtmpClient publishing time-stamped video, another playing it).
 */
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { ClientStream, RtmpClient } from '../../lib/client';
import { parseFlv } from '../../lib/protocol/flv';
import { MessageType, RtmpMessage } from '../../lib/protocol/message';
import { CLIP, STREAM, startPublisher } from './clip';
import type { Peer } from './peers';
import { median, percentile, sleep } from './proc';

const isVideoFrame = (m: RtmpMessage): boolean => m.typeId === MessageType.Video && m.payload.length > 1 && m.payload[1] === 1;
const isKeyFrame = (m: RtmpMessage): boolean => isVideoFrame(m) && (m.payload[0]! & 0xf0) === 0x10;

export interface FirstFrameResult {
  server: string;
  plays: number;
  /** Plays that saw a key frame within the timeout. */
  succeeded: number;
  /** Median ms from sending play to the first coded video frame (key or not). */
  firstVideoMs: number;
  /** Median ms from sending play to the first key frame: what a decoder can start on. */
  firstKeyFrameMs: number;
  firstKeyFrameP90Ms: number;
  /** Of the first coded frames, how many were key frames. */
  startedOnKeyFrame: number;
  error?: string;
}

/**
 * node-media-server v4 sends every media message on message stream 0 instead of the
 * player's stream; RtmpClient routes media by stream id and drops them. For the benchmark
 * only, stream 0 is aliased to the playing stream (a private field of RtmpClient: if it
 * is ever renamed, NMS's rows come out empty and say so, nothing else breaks).
 */
function acceptStreamZero(client: RtmpClient, stream: ClientStream): void {
  const internals = client as unknown as { streams?: unknown };
  if (internals.streams instanceof Map) (internals.streams as Map<number, ClientStream>).set(0, stream);
}

async function playOnce(url: string, timeoutMs: number): Promise<{ video?: number; key?: number; keyFirst: boolean }> {
  const client = await RtmpClient.connect(url, { timeout: timeoutMs });
  try {
    const stream = await client.createStream();
    acceptStreamZero(client, stream);
    let video: number | undefined;
    let key: number | undefined;
    let keyFirst = false;
    let started = 0;
    const got = new Promise<void>((resolve) => {
      stream.media$.subscribe((message) => {
        if (!isVideoFrame(message)) return;
        const now = performance.now();
        if (video === undefined) {
          video = now - started;
          keyFirst = isKeyFrame(message);
        }
        if (key === undefined && isKeyFrame(message)) {
          key = now - started;
          resolve();
        }
      });
    });
    started = performance.now();
    stream.play(STREAM).catch(() => undefined);
    await Promise.race([got, sleep(timeoutMs)]);
    return { video, key, keyFirst };
  } finally {
    await client.close();
  }
}

export async function runFirstFrame(peer: Peer, plays = 10, timeoutMs = 6_000): Promise<FirstFrameResult> {
  const publisher = await startPublisher(peer.url, 3_000);
  const videos: number[] = [];
  const keys: number[] = [];
  let keyFirst = 0;
  let error: string | undefined;
  try {
    for (let i = 0; i < plays; i++) {
      try {
        const result = await playOnce(peer.url, timeoutMs);
        if (result.video !== undefined) videos.push(result.video);
        if (result.key !== undefined) keys.push(result.key);
        if (result.keyFirst) keyFirst++;
      } catch (e) {
        error = e instanceof Error ? e.message : String(e);
      }
      // Plays land at different points of the 2 s GOP.
      await sleep(250 + 137 * i);
    }
  } finally {
    await publisher.stop();
  }
  return {
    server: peer.name,
    plays,
    succeeded: keys.length,
    firstVideoMs: median(videos),
    firstKeyFrameMs: median(keys),
    firstKeyFrameP90Ms: percentile(keys, 90),
    startedOnKeyFrame: keyFirst,
    ...(error === undefined ? {} : { error }),
  };
}

export interface RelayLatencyResult {
  server: string;
  sent: number;
  received: number;
  medianMs: number;
  p95Ms: number;
  maxMs: number;
  error?: string;
}

/** The clip's AVC sequence header, so that every server takes the stream for H.264. */
function avcSequenceHeader(): Buffer {
  const tag = parseFlv(readFileSync(CLIP)).tags.find((t) => t.typeId === MessageType.Video && t.data[1] === 0);
  if (tag === undefined) throw new Error(`${CLIP} has no AVC sequence header`);
  return Buffer.from(tag.data);
}

/** A legacy AVC NALU tag (key 0x17 / inter 0x27, packet type 1, composition time 0) carrying Date.now() as a double. */
function stampedFrame(key: boolean, size: number): Buffer {
  const payload = Buffer.alloc(size);
  payload[0] = key ? 0x17 : 0x27;
  payload[1] = 0x01;
  payload.writeDoubleBE(Date.now(), 5);
  return payload;
}

/** `playUrl`: where the player plays (default the publisher's server): another node of a cluster, through its pull. */
export async function runRelayLatency(peer: Peer, seconds = 5, frameBytes = 5_000, playUrl = peer.url): Promise<RelayLatencyResult> {
  const sequenceHeader = avcSequenceHeader();
  const publisher = await RtmpClient.connect(peer.url, { timeout: 10_000 });
  let player: RtmpClient | undefined;
  let sent = 0;
  let timer: NodeJS.Timeout | undefined;
  const latencies: number[] = [];
  try {
    const out = await publisher.createStream();
    await out.publish('latency');
    const epoch = performance.now();
    out.sendMedia({ typeId: MessageType.Video, timestamp: 0, payload: sequenceHeader });
    // 30 frames a second on a schedule that does not drift, a key frame every 30; bounded in count.
    const frames = Math.ceil((seconds + 3) * 30);
    const tick = (): void => {
      if (sent >= frames) return;
      const at = Math.round((sent * 1000) / 30);
      out.sendMedia({ typeId: MessageType.Video, timestamp: at, payload: stampedFrame(sent % 30 === 0, frameBytes) });
      sent++;
      timer = setTimeout(tick, Math.max(0, epoch + ((sent * 1000) / 30) - performance.now()));
    };
    tick();
    await sleep(1_000);
    player = await RtmpClient.connect(playUrl, { timeout: 10_000 });
    const inbound = await player.createStream();
    acceptStreamZero(player, inbound);
    const playedAt = Date.now();
    inbound.media$.subscribe((message) => {
      if (!isVideoFrame(message) || message.payload.length < 13) return;
      const stamped = message.payload.readDoubleBE(5);
      // Frames from the GOP cache were sent before the play: not relay latency.
      if (stamped >= playedAt) latencies.push(Date.now() - stamped);
    });
    await inbound.play('latency');
    await sleep(seconds * 1000);
  } catch (e) {
    return { ...summary(peer.name, sent, latencies), error: e instanceof Error ? e.message : String(e) };
  } finally {
    clearTimeout(timer);
    await player?.close();
    await publisher.close();
  }
  return summary(peer.name, sent, latencies);
}

function summary(server: string, sent: number, latencies: number[]): RelayLatencyResult {
  return { server, sent, received: latencies.length, medianMs: median(latencies), p95Ms: percentile(latencies, 95), maxMs: latencies.length > 0 ? Math.max(...latencies) : NaN };
}
