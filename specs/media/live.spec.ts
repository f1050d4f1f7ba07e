import test from 'ava';
import { RtmpClient } from '../../lib';
import { BodyCache } from '../../lib/pipeline/bodies';
import { MessageType } from '../../lib/protocol/message';
import { decodeData } from '../../lib/protocol/commands';
import { delay, isFrame, isKeyFrame, isVideoHeader, liveServer, player, publisher, recordedMedia, sendRecorded, until } from '../helpers/live';

const frames = recordedMedia.filter(isFrame);
const indexOfFrame = (n: number): number => recordedMedia.indexOf(frames[n]!);

test('a player that arrives before the publisher waits, is told PublishNotify, and starts with metadata, headers and a key frame', async (t) => {
  const { server, url } = await liveServer();
  try {
    const watcher = await player(url, 'cam');
    const statuses: string[] = [];
    watcher.client.status$.subscribe((s) => statuses.push(s.info.code));
    const source = await publisher(url, 'cam');
    sendRecorded(source.stream, 0, indexOfFrame(40));
    await until(() => watcher.received.filter(isFrame).length >= 40);
    t.true(statuses.includes('NetStream.Play.PublishNotify'));
    const data = watcher.received.filter((m) => m.typeId === MessageType.DataAmf0).map((m) => decodeData(m.typeId, m.payload).name);
    t.deepEqual(data.slice(0, 2), ['|RtmpSampleAccess', 'onMetaData']);
    t.is(watcher.received.findIndex((m) => m.typeId !== MessageType.DataAmf0), 2, 'metadata before any audio or video');
    const video = watcher.received.filter((m) => m.typeId === MessageType.Video);
    t.true(isVideoHeader(video[0]!));
    t.true(isKeyFrame(video[1]!));
    t.deepEqual(video.filter(isFrame).map((m) => m.payload), frames.slice(0, 40).map((m) => m.payload));
    await source.client.close();
    await watcher.client.close();
  } finally {
    await server.close();
  }
});

test('with playWaitMs, a player of a name nobody publishes is told Play.StreamNotFound and stopped; one whose stream comes in time plays on', async (t) => {
  const { server, url } = await liveServer({ playWaitMs: 1_500 });
  try {
    // The publisher is connected first, so that its publish is one round trip after the plays, however loaded the machine.
    const source = await RtmpClient.connect(url);
    const outgoing = await source.createStream();
    const [lonely, patient] = [await player(url, 'nobody'), await player(url, 'soon')];
    const heard = { lonely: [] as string[], patient: [] as string[] };
    lonely.client.status$.subscribe((s) => heard.lonely.push(s.info.code));
    patient.client.status$.subscribe((s) => heard.patient.push(s.info.code));
    await outgoing.publish('soon');
    sendRecorded(outgoing, 0, indexOfFrame(10));
    await until(() => heard.lonely.includes('NetStream.Play.Stop'), 10_000);
    t.deepEqual(heard.lonely, ['NetStream.Play.StreamNotFound', 'NetStream.Play.Stop']);
    t.false(heard.patient.includes('NetStream.Play.StreamNotFound'));
    t.true(patient.received.some(isKeyFrame));
    await Promise.all([source.close(), lonely.client.close(), patient.client.close()]);
  } finally {
    await server.close();
  }
});

test('a player that arrives mid-stream starts at once from the GOP cache, on a key frame', async (t) => {
  const { server, url } = await liveServer();
  try {
    const source = await publisher(url, 'cam');
    sendRecorded(source.stream, 0, indexOfFrame(45));
    await until(() => (server.connections.size > 0 ? true : false));
    await delay(200);
    const late = await player(url, 'cam');
    await until(() => late.received.filter(isFrame).length >= 15);
    const video = late.received.filter((m) => m.typeId === MessageType.Video);
    t.true(isVideoHeader(video[0]!), 'the AVC sequence header comes first');
    t.deepEqual(video[1]!.payload, frames[30]!.payload, 'then the key frame that opened the current GOP');
    t.is(video[1]!.timestamp, 0, 'timestamps are rebased to 0 for this player');
    await source.client.close();
    await late.client.close();
  } finally {
    await server.close();
  }
});

test('without the GOP cache a late player waits for the next key frame', async (t) => {
  const { server, url } = await liveServer({ gopCache: false });
  try {
    const source = await publisher(url, 'cam');
    sendRecorded(source.stream, 0, indexOfFrame(45));
    await delay(200);
    const late = await player(url, 'cam');
    await delay(100);
    t.is(late.received.filter(isFrame).length, 0, 'nothing before the next key frame');
    sendRecorded(source.stream, indexOfFrame(45), indexOfFrame(65));
    await until(() => late.received.filter(isFrame).length >= 5);
    t.deepEqual(late.received.filter(isFrame)[0]!.payload, frames[60]!.payload);
    await source.client.close();
    await late.client.close();
  } finally {
    await server.close();
  }
});

test('a second publisher on a live name is refused with Publish.BadName', async (t) => {
  const { server, url } = await liveServer();
  try {
    const first = await publisher(url, 'cam');
    await t.throwsAsync(publisher(url, 'cam'), { message: /NetStream\.Publish\.BadName/ });
    await first.client.close();
  } finally {
    await server.close();
  }
});

test('with takeover allowed, a second publisher replaces the first and players stay', async (t) => {
  const { server, url } = await liveServer({ takeover: true });
  try {
    const first = await publisher(url, 'cam');
    const watcher = await player(url, 'cam');
    sendRecorded(first.stream, 0, indexOfFrame(10));
    await until(() => watcher.received.filter(isFrame).length >= 10);
    const second = await publisher(url, 'cam');
    sendRecorded(second.stream, 0, indexOfFrame(10));
    await until(() => watcher.received.filter(isFrame).length >= 20);
    t.pass();
    await Promise.all([first.client.close(), second.client.close(), watcher.client.close()]);
  } finally {
    await server.close();
  }
});

test('a publisher that reconnects within the grace period keeps its players, with timestamps still rising', async (t) => {
  const { server, url } = await liveServer({ failoverGrace: 5_000 });
  try {
    const watcher = await player(url, 'cam');
    const statuses: string[] = [];
    watcher.client.status$.subscribe((s) => statuses.push(s.info.code));
    const first = await publisher(url, 'cam');
    sendRecorded(first.stream, 0, indexOfFrame(30));
    await until(() => watcher.received.filter(isFrame).length >= 30);
    await first.client.close();
    await delay(300);
    const second = await publisher(url, 'cam');
    sendRecorded(second.stream, 0, indexOfFrame(30));
    await until(() => watcher.received.filter(isFrame).length >= 60);
    const video = watcher.received.filter((m) => m.typeId === MessageType.Video);
    t.is(video.filter(isVideoHeader).length, 2, 'the new source sends its sequence header again');
    const times = video.map((m) => m.timestamp);
    t.true(times.every((time, i) => i === 0 || time >= times[i - 1]!), 'video timestamps never go back');
    t.true(times[times.length - 1]! > 1000 + 250, 'the second source continues after the first, gap included');
    t.false(statuses.includes('NetStream.Play.UnpublishNotify'), 'players are not told the stream ended');
    t.false(watcher.client.closeReason !== undefined);
    await second.client.close();
    await watcher.client.close();
  } finally {
    await server.close();
  }
});

test('after the grace period players are told UnpublishNotify', async (t) => {
  const { server, url } = await liveServer({ failoverGrace: 150 });
  try {
    const watcher = await player(url, 'cam');
    const statuses: string[] = [];
    watcher.client.status$.subscribe((s) => statuses.push(s.info.code));
    const source = await publisher(url, 'cam');
    sendRecorded(source.stream, 0, indexOfFrame(5));
    await until(() => watcher.received.filter(isFrame).length >= 5);
    await source.client.close();
    await until(() => statuses.includes('NetStream.Play.UnpublishNotify'));
    t.pass();
    await watcher.client.close();
  } finally {
    await server.close();
  }
});

test('a paused player receives nothing, and resumes on a key frame', async (t) => {
  const { server, url } = await liveServer();
  try {
    const source = await publisher(url, 'cam');
    const watcher = await player(url, 'cam');
    sendRecorded(source.stream, 0, indexOfFrame(10));
    await until(() => watcher.received.filter(isFrame).length >= 10);
    await watcher.stream.pause(true);
    const before = watcher.received.length;
    sendRecorded(source.stream, indexOfFrame(10), indexOfFrame(40));
    await delay(200);
    t.is(watcher.received.length, before, 'nothing while paused');
    await watcher.stream.pause(false);
    await until(() => watcher.received.filter(isFrame).length > 10);
    const resumed = watcher.received.slice(before).filter((m) => m.typeId === MessageType.Video);
    t.true(isVideoHeader(resumed[0]!));
    t.true(isKeyFrame(resumed[1]!));
    await source.client.close();
    await watcher.client.close();
  } finally {
    await server.close();
  }
});

test('seek on a live stream answers Seek.Notify', async (t) => {
  const { server, url } = await liveServer();
  try {
    const source = await publisher(url, 'cam');
    const watcher = await player(url, 'cam');
    t.like(await watcher.stream.seek(5000), { code: 'NetStream.Seek.Notify' });
    await source.client.close();
    await watcher.client.close();
  } finally {
    await server.close();
  }
});

test('the registry knows codecs, size, frame rate and bitrate of a live stream', async (t) => {
  const { server, registry, url } = await liveServer();
  try {
    const source = await publisher(url, 'cam?token=abc');
    sendRecorded(source.stream);
    await until(() => (registry.get('live', 'cam')?.streamInfo.frameRate ?? 0) > 0);
    await delay(200);
    const info = registry.get('live', 'cam')!.streamInfo;
    t.like(info, { videoCodec: 'avc', audioCodec: 'aac', width: 640, height: 360 });
    t.true(info.frameRate! > 28 && info.frameRate! < 32, `frame rate ${info.frameRate}`);
    t.true(info.bitrate! > 100_000, `bitrate ${info.bitrate}`);
    await source.client.close();
  } finally {
    await server.close();
  }
});

test('applications tap a stream as an Observable and see streams come and go', async (t) => {
  const { server, registry, url } = await liveServer({ failoverGrace: 50 });
  try {
    const events: string[] = [];
    registry.events$.subscribe((e) => events.push(`${e.type}:${e.stream.key}`));
    const source = await publisher(url, 'cam');
    const tapped: number[] = [];
    registry.get('live', 'cam')!.media$.subscribe((packet) => tapped.push(packet.typeId));
    sendRecorded(source.stream, 0, indexOfFrame(10));
    await until(() => tapped.filter((type) => type === MessageType.Video).length >= 11);
    await source.client.close();
    await until(() => events.includes('ended:live/cam'));
    t.deepEqual(events, ['published:live/cam', 'unpublished:live/cam', 'ended:live/cam']);
  } finally {
    await server.close();
  }
});

test('players with the same chunk size never need more than one chunk layout of a packet, and each gets it intact', async (t) => {
  const { server, registry, url } = await liveServer();
  try {
    const source = await publisher(url, 'cam');
    const players = await Promise.all([player(url, 'cam'), player(url, 'cam'), player(url, 'cam')]);
    const packets: Array<{ bodies: BodyCache; size: number }> = [];
    registry.get('live', 'cam')!.media$.subscribe((p) => packets.push({ bodies: p.bodies, size: p.payload.length }));
    sendRecorded(source.stream, 0, indexOfFrame(20));
    await until(() => players.every((p) => p.received.filter(isFrame).length >= 20));
    const big = packets.filter((p) => p.size > 4096);
    t.true(big.length > 0);
    // A body is built only for a flush that writes the packet by reference (see the writer's specs), then shared.
    for (const packet of big) t.true(packet.bodies.keys().every((key) => key === 4096 * 65_600 + 6), 'at most the one layout (chunk size 4096, chunk stream 6)');
    const sizes = (p: (typeof players)[number]): Buffer[] => p.received.filter(isFrame).map((m) => Buffer.from(m.payload));
    for (const p of players) t.deepEqual(sizes(p).slice(0, 20), sizes(players[0]!).slice(0, 20));
    await source.client.close();
    await Promise.all(players.map((p) => p.client.close()));
  } finally {
    await server.close();
  }
});

test('receiveVideo(false) leaves a player with audio only, receiveAudio(false) with video only', async (t) => {
  const { server, url } = await liveServer();
  try {
    const source = await publisher(url, 'cam');
    const audioOnly = await player(url, 'cam');
    const videoOnly = await player(url, 'cam');
    audioOnly.stream.receive('video', false);
    videoOnly.stream.receive('audio', false);
    await delay(100);
    sendRecorded(source.stream, 0, indexOfFrame(30));
    await until(() => videoOnly.received.filter(isFrame).length >= 30 && audioOnly.received.filter((m) => m.typeId === MessageType.Audio).length >= 40);
    t.is(audioOnly.received.filter((m) => m.typeId === MessageType.Video).length, 0);
    t.is(videoOnly.received.filter((m) => m.typeId === MessageType.Audio).length, 0);
    await Promise.all([source.client.close(), audioOnly.client.close(), videoOnly.client.close()]);
  } finally {
    await server.close();
  }
});
