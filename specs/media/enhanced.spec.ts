import test from 'ava';
import { RtmpClient } from '../../lib';
import { flvTag } from '../../lib/protocol/flv';
import { MessageType } from '../../lib/protocol/message';
import { LiveStream } from '../../lib/media/live-stream';
import { delay, liveServer, player, publisher, until } from '../helpers/live';

const bytes = (...parts: Array<number | string>): Buffer =>
  Buffer.concat(parts.map((p) => (typeof p === 'number' ? Buffer.of(p) : Buffer.from(p, 'latin1'))));

/** An HEVC stream in Enhanced RTMP form: SequenceStart, then key / inter CodedFrames. */
const hevcHeader = bytes(0x90, 'hvc1', 1, 2, 3, 4);
const hevcFrame = (key: boolean, n: number): Buffer => bytes(key ? 0x91 : 0xa1, 'hvc1', 0, 0, 0, n, n, n);

test('connect with fourCcList is answered with the FourCCs the server relays', async (t) => {
  const { server, url } = await liveServer();
  try {
    const client = await RtmpClient.connect(url, { properties: { fourCcList: ['hvc1', 'av01', 'vp09'] } });
    t.like(client.serverProperties, { fourCcList: ['hvc1', 'av01', 'vp09'] });
    await client.close();
  } finally {
    await server.close();
  }
});

test('Enhanced RTMP HEVC passes through unchanged; a late player starts on an ex-header key frame', async (t) => {
  const { server, registry, url } = await liveServer();
  try {
    const source = await publisher(url, 'hevc');
    source.stream.sendMedia({ typeId: MessageType.Video, timestamp: 0, payload: hevcHeader });
    for (let n = 0; n < 12; n++) source.stream.sendMedia({ typeId: MessageType.Video, timestamp: n * 40, payload: hevcFrame(n % 5 === 0, n) });
    await until(() => registry.get('live', 'hevc')?.streamInfo.videoCodec === 'hvc1');
    await delay(100);
    const late = await player(url, 'hevc');
    await until(() => late.received.filter((m) => m.typeId === MessageType.Video).length >= 3);
    const video = late.received.filter((m) => m.typeId === MessageType.Video).map((m) => m.payload);
    t.deepEqual(video[0], hevcHeader, 'the sequence start first');
    t.deepEqual(video[1], hevcFrame(true, 10), 'then the last key frame');
    t.deepEqual(video[2], hevcFrame(false, 11));
    await source.client.close();
    await late.client.close();
  } finally {
    await server.close();
  }
});

test('an aggregate message from a publisher reaches players as its sub-messages', async (t) => {
  const { server, url } = await liveServer();
  try {
    const source = await publisher(url, 'agg');
    const watcher = await player(url, 'agg');
    const body = Buffer.concat([
      ...flvTag(9, 1000, bytes(0x17, 0, 1, 2, 3)),
      ...flvTag(9, 1000, bytes(0x17, 1, 0, 0, 0, 5)),
      ...flvTag(8, 1020, bytes(0xaf, 1, 6)),
      ...flvTag(9, 1040, bytes(0x27, 1, 0, 0, 0, 7)),
    ]);
    source.stream.sendMedia({ typeId: MessageType.Aggregate, timestamp: 1000, payload: body });
    await until(() => watcher.received.filter((m) => m.typeId !== MessageType.DataAmf0).length >= 4);
    const media = watcher.received.filter((m) => m.typeId !== MessageType.DataAmf0);
    t.deepEqual(media.map((m) => [m.typeId, m.payload.at(-1)]), [[9, 3], [9, 5], [8, 6], [9, 7]]);
    t.deepEqual(media.slice(1).map((m) => m.timestamp), [0, 20, 40]);
    await source.client.close();
    await watcher.client.close();
  } finally {
    await server.close();
  }
});

test('the stream timeline survives the 32-bit timestamp wrap', (t) => {
  const live = new LiveStream('live', 'wrap', { gopCache: true, gop: { maxBytes: 1e6, maxDuration: 1e6 } });
  const times: number[] = [];
  live.media$.subscribe((p) => times.push(p.time));
  live.beginSource();
  for (const raw of [0xffffff00, 0xffffffc0, 0x20, 0x60]) {
    live.ingest({ chunkStreamId: 6, timestamp: raw, typeId: MessageType.Video, streamId: 1, payload: bytes(0x27, 1, 0, 0, 0) });
  }
  t.deepEqual(times, [0xffffff00, 0xffffffc0, 0x100000020, 0x100000060]);
});

test('the application can inject already-encoded media into a stream that players see', async (t) => {
  const { server, registry, url } = await liveServer();
  try {
    const source = registry.openSource('live', 'generated');
    const watcher = await player(url, 'generated');
    source.send(MessageType.Video, 0, bytes(0x17, 0, 9, 9));
    source.send(MessageType.Video, 0, bytes(0x17, 1, 0, 0, 0, 1));
    source.send(MessageType.Video, 33, bytes(0x27, 1, 0, 0, 0, 2));
    await until(() => watcher.received.filter((m) => m.typeId === MessageType.Video).length >= 3);
    t.deepEqual(watcher.received.filter((m) => m.typeId === MessageType.Video).map((m) => m.timestamp), [0, 0, 33]);
    source.close();
    await watcher.client.close();
  } finally {
    await server.close();
  }
});
