import test from 'ava';
import { consoleLogger, createServer, RtmpClient, RtmpServer, silentLogger } from '../../lib';
import { ClusterMember, ClusterOptions, joinCluster } from '../../lib/cluster/cluster';
import { RedisDirectory } from '../../lib/cluster/redis-directory';
import { installLive } from '../../lib/media/live-app';
import { createWebServer } from '../../lib/web/web-server';
import { request } from 'node:http';
import { LiveRegistry } from '../../lib/media/registry';
import { MessageType, RtmpMessage } from '../../lib/protocol/message';
import { delay, isKeyFrame, publisher, recordedMedia, sendRecorded, until } from '../helpers/live';
import { RedisServer, startRedis } from '../helpers/redis';

const SECRET = 'a cluster secret of at least thirty-two bytes';
let redis: RedisServer;
let space = 0;
const stops: Array<() => Promise<void>> = [];

test.before(async () => {
  redis = await startRedis();
});
test.after.always(async () => {
  for (const stop of stops.reverse()) await stop().catch(() => undefined);
  await redis.stop();
});

interface Node {
  server: RtmpServer;
  registry: LiveRegistry;
  member: ClusterMember;
  url: string;
  stop(): Promise<void>;
}

/** A server with the live app, a node of the cluster named `prefix` on the shared Redis. */
async function node(id: string, prefix: string, options: Partial<ClusterOptions> = {}, url = redis.url): Promise<Node> {
  const server = createServer({ logger: silentLogger });
  const registry = installLive(server, { failoverGrace: 5_000, playWaitMs: 5_000 });
  const directory = await RedisDirectory.connect({ url, prefix: `c${prefix}:`, logger: silentLogger, nodeLeaseMs: 600 });
  const logger = process.env.CLUSTER_DEBUG ? consoleLogger : silentLogger;
  const member = await joinCluster(registry, { directory, secret: SECRET, nodeId: id, logger, pullIdleMs: 400, claimWaitMs: 300, ...options });
  const { port } = await server.listen({ host: '127.0.0.1', port: 0 });
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await member.close();
    await server.close();
    registry.close();
  };
  stops.push(stop);
  return { server, registry, member, url: `rtmp://127.0.0.1:${port}/live`, stop };
}

const cluster = (): string => String(++space);

/** A player of ours that keeps what it receives and the statuses it is told. */
async function watch(url: string, name: string): Promise<{ client: RtmpClient; media: RtmpMessage[]; statuses: string[] }> {
  const client = await RtmpClient.connect(url);
  const stream = await client.createStream();
  const media: RtmpMessage[] = [];
  const statuses: string[] = [];
  stream.media$.subscribe((m) => media.push(m));
  client.status$.subscribe((s) => statuses.push(s.info.code));
  await stream.play(name, { start: -1 });
  return { client, media, statuses };
}

const videoFrames = (media: RtmpMessage[]): number => media.filter((m) => m.typeId === MessageType.Video && m.payload[1] === 1).length;

test('players on another node get the stream through one pull from the owner, which closes once they are gone', async (t) => {
  const c = cluster();
  const [a, b] = [await node('a', c), await node('b', c)];
  const source = await publisher(a.url, 'cam');
  sendRecorded(source.stream, 0, 60);
  const players = await Promise.all([0, 1, 2].map(() => watch(b.url, 'cam')));
  await until(() => players.every((p) => p.media.some(isKeyFrame)));
  t.is(b.member.pulling.length, 1, 'one pull for three players');
  const [pull] = b.member.pulling;
  t.is(pull!.node, 'a');
  t.is(pull!.from, a.member.node.address);
  t.is(pull!.state, 'pulling');
  // Live media keeps coming through it.
  const before = players.map((p) => videoFrames(p.media));
  sendRecorded(source.stream, 60, recordedMedia.length);
  await until(() => players.every((p, i) => videoFrames(p.media) > before[i]!));
  // The GOP cache on B: a late player there starts at once on a key frame, with no second pull.
  const late = await watch(b.url, 'cam');
  await until(() => late.media.some(isKeyFrame));
  t.is(late.media.find((m) => m.typeId === MessageType.Video && m.payload[1] === 1)?.payload[0], 0x17, 'the first frame a late player gets is a key frame');
  t.is(b.member.pulling.length, 1);
  await Promise.all([...players, late].map((p) => p.client.close()));
  await until(() => b.member.pulling.length === 0, 3_000);
  // The owner sees the pull's connection close a moment later.
  await until(() => a.registry.get('live', 'cam')?.players.size === 0, 3_000);
  t.pass('the owner has no player left either');
  await source.client.close();
});

test('an HTTP-FLV viewer on another node gets the stream through a pull, which stays while it watches and closes after', async (t) => {
  const c = cluster();
  const [a, b] = [await node('a', c), await node('b', c)];
  const web = createWebServer(b.server, { live: b.registry, cluster: b.member, logger: silentLogger });
  const { port } = await web.listen(0, '127.0.0.1');
  const source = await publisher(a.url, 'cam');
  let round = 0;
  const pump = setInterval(() => sendRecorded(source.stream, 0, recordedMedia.length, round++ * 4_000), 400);
  try {
    const chunks: Buffer[] = [];
    const viewer = request({ host: '127.0.0.1', port, path: '/live/cam.flv' });
    const status = new Promise<number>((resolve) => viewer.on('response', (response) => (response.on('data', (d: Buffer) => chunks.push(d)), resolve(response.statusCode ?? 0))));
    viewer.end();
    t.is(await status, 200);
    await delay(1_000);
    t.deepEqual(b.member.pulling.map((p) => p.node), ['a'], 'pulled for the viewer, and kept past pullIdleMs while it watches');
    const tags = flvTags(Buffer.concat(chunks));
    t.is(Buffer.concat(chunks).subarray(0, 3).toString(), 'FLV');
    t.true(tags.some((tag) => tag.type === 9 && tag.first === 0x17 && tag.second === 1), 'a key frame');
    viewer.destroy();
    await until(() => b.member.pulling.length === 0, 3_000);
  } finally {
    clearInterval(pump);
    await source.client.close();
    await web.close();
  }
});

/** The tags of an FLV byte stream, up to the last whole one. */
function flvTags(bytes: Buffer): Array<{ type: number; first: number; second: number }> {
  const tags: Array<{ type: number; first: number; second: number }> = [];
  for (let at = 13; at + 11 <= bytes.length; ) {
    const size = bytes.readUIntBE(at + 1, 3);
    if (at + 11 + size + 4 > bytes.length) break;
    tags.push({ type: bytes[at]!, first: bytes[at + 11]!, second: bytes[at + 12]! });
    at += 11 + size + 4;
  }
  return tags;
}

test('a player that arrives before the publisher waits (within the play timeout) and starts when the stream is published on another node', async (t) => {
  const c = cluster();
  const [a, b] = [await node('a', c), await node('b', c)];
  const early = await watch(b.url, 'later');
  await delay(300);
  t.is(b.member.pulling.length, 0);
  const source = await publisher(a.url, 'later');
  const published = Date.now();
  sendRecorded(source.stream, 0, 40);
  await until(() => early.media.some(isKeyFrame));
  t.log(`first key frame on the other node ${Date.now() - published} ms after the publish`);
  t.true(early.statuses.includes('NetStream.Play.PublishNotify'));
  t.false(early.statuses.includes('NetStream.Play.StreamNotFound'));
  await early.client.close();
  await source.client.close();
});

test('a name published on two nodes at once: exactly one wins, the other is refused with Publish.BadName', async (t) => {
  const c = cluster();
  const [a, b] = [await node('a', c), await node('b', c)];
  const attempts = await Promise.allSettled([publisher(a.url, 'twice'), publisher(b.url, 'twice')]);
  const won = attempts.filter((r) => r.status === 'fulfilled');
  const lost = attempts.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
  t.is(won.length, 1);
  t.is(lost.length, 1);
  t.regex(String(lost[0]!.reason), /BadName/);
  await Promise.all(won.map((r) => (r as PromiseFulfilledResult<Awaited<ReturnType<typeof publisher>>>).value.client.close()));
});

test('the publisher moving to another node: edge players stay, and follow the new owner (higher epoch) with one pull', async (t) => {
  const c = cluster();
  const [a, b, edge] = [await node('a', c), await node('b', c), await node('edge', c)];
  const first = await publisher(a.url, 'moving');
  sendRecorded(first.stream, 0, 60);
  const viewer = await watch(edge.url, 'moving');
  await until(() => viewer.media.some(isKeyFrame));
  const epochBefore = edge.member.pulling[0]!.epoch;
  await first.client.close();
  const second = await publisher(b.url, 'moving');
  const framesBefore = videoFrames(viewer.media);
  sendRecorded(second.stream, 0, recordedMedia.length);
  await until(() => videoFrames(viewer.media) > framesBefore + 10);
  t.deepEqual(edge.member.pulling.map((p) => p.node), ['b']);
  t.true(edge.member.pulling[0]!.epoch > epochBefore);
  t.false(viewer.statuses.includes('NetStream.Play.UnpublishNotify'), 'within the failover grace the player never hears the stream ended');
  await viewer.client.close();
  await second.client.close();
});

test('the internal listener serves only cluster-token holders, and only streams published on its node (one hop)', async (t) => {
  const c = cluster();
  const [a, b] = [await node('a', c), await node('b', c)];
  const source = await publisher(a.url, 'hop');
  sendRecorded(source.stream, 0, 40);
  // Without a token, on A's internal address.
  const intruder = await RtmpClient.connect(`rtmp://${a.member.node.address}/live`);
  const stream = await intruder.createStream();
  await t.throwsAsync(stream.play('hop', { start: -1 }), { message: /refused|Failed/ });
  await intruder.close();
  // B pulls it; B's internal listener still refuses it to a third node, whatever its token.
  const viewer = await watch(b.url, 'hop');
  await until(() => viewer.media.some(isKeyFrame));
  const third = await node('third', c, { nodeId: 'third' });
  const third$ = await RtmpClient.connect(`rtmp://${b.member.node.address}/live`);
  const { signToken } = await import('../../lib/auth/tokens');
  const token = signToken(SECRET, { keyId: 'cluster', action: 'play', app: 'live', name: 'hop', expires: Math.floor(Date.now() / 1000) + 30 });
  const hop = await third$.createStream();
  await t.throwsAsync(hop.play(`hop?token=${token}`, { start: -1 }), { message: /StreamNotFound|not published/ });
  await third$.close();
  await third.stop();
  await viewer.client.close();
  await source.client.close();
});

test('Redis down: a stream already pulled keeps flowing, a new cross-node play fails within 2 s with Play.Failed, and plays work again once Redis is back', async (t) => {
  t.timeout(40_000);
  const own = await startRedis();
  stops.push(() => own.stop());
  const c = cluster();
  const [a, b] = [await node('a', c, {}, own.url), await node('b', c, {}, own.url)];
  const source = await publisher(a.url, 'steady');
  const other = await publisher(a.url, 'other');
  let round = 0;
  const pump = setInterval(() => {
    sendRecorded(source.stream, 0, recordedMedia.length, round * 4_000);
    sendRecorded(other.stream, 0, recordedMedia.length, round * 4_000);
    round++;
  }, 500);
  try {
    const viewer = await watch(b.url, 'steady');
    await until(() => viewer.media.some(isKeyFrame));
    await own.stop();
    await until(() => !b.member['options'].directory.available, 5_000);
    const framesAtOutage = videoFrames(viewer.media);
    await delay(1_000);
    t.true(videoFrames(viewer.media) > framesAtOutage, 'the pulled stream still flows');
    const started = Date.now();
    const refused = await watch(b.url, 'other').then(
      () => 'played',
      (error: unknown) => String(error),
    );
    t.true(Date.now() - started < 2_000, `refused after ${Date.now() - started} ms`);
    t.regex(refused, /NetStream\.Play\.Failed/);
    t.regex(refused, /directory is unavailable/);
    await own.start();
    await until(() => b.member['options'].directory.available, 10_000);
    // A's claims come back with its lease: the play that failed now works.
    let later: Awaited<ReturnType<typeof watch>> | undefined;
    for (const deadline = Date.now() + 10_000; later === undefined && Date.now() < deadline; await delay(200)) {
      later = await watch(b.url, 'other').catch(() => undefined);
    }
    t.truthy(later);
    await until(() => later!.media.some(isKeyFrame));
    await viewer.client.close();
    await later!.client.close();
  } finally {
    clearInterval(pump);
    await source.client.close();
    await other.client.close();
  }
});

test('a publisher that leaves while its publish waits for the name leaves no claim and no source behind when the name comes free', async (t) => {
  const c = cluster();
  const [a, b] = [await node('a', c), await node('b', c, { claimWaitMs: 2_000 })];
  const holder = await publisher(a.url, 'held');
  const client = await RtmpClient.connect(b.url);
  const stream = await client.createStream();
  // B waits for A's claim to go; its publisher leaves meanwhile, then A's does.
  const attempt = stream.publish('held').catch((error: unknown) => String(error));
  await delay(200);
  await client.close();
  await attempt;
  await holder.client.close();
  // B's claim succeeds for a publisher that is gone: it must be let go at once.
  await delay(1_000);
  const live = b.registry.get('live', 'held');
  t.is(live && b.registry.ownerOf(live), undefined, 'no source on B');
  t.is(await b.member['options'].directory.lookup('live/held'), undefined, 'no claim in the directory');
  const again = await publisher(a.url, 'held');
  await again.client.close();
});
