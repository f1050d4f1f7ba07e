import test from 'ava';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { firstValueFrom, filter, take, toArray } from 'rxjs';
import { DirectoryUnavailableError, StreamClaim } from '../../lib/cluster/directory';
import { RedisDirectory, RedisDirectoryOptions } from '../../lib/cluster/redis-directory';
import { silentLogger } from '../../lib';
import { RedisServer, startRedis } from '../helpers/redis';

let redis: RedisServer;
let prefix = 0;
const opened: RedisDirectory[] = [];

test.before(async () => {
  redis = await startRedis();
});
test.after.always(async () => {
  await Promise.all(opened.map((d) => d.close()));
  await redis.stop();
});

/** A node on its own key prefix per test, so that tests run side by side on one Redis. */
async function node(id: string, space: string, options: Partial<RedisDirectoryOptions> = {}): Promise<RedisDirectory> {
  const directory = await RedisDirectory.connect({ url: redis.url, prefix: `t${space}:`, logger: silentLogger, ...options });
  opened.push(directory);
  await directory.join({ id, address: `127.0.0.1:${1000 + opened.length}`, pid: process.pid, startedAt: Date.now() });
  return directory;
}
const space = (): string => String(++prefix);
const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const claimed = (result: Awaited<ReturnType<RedisDirectory['claim']>>): StreamClaim => {
  if (!('claimed' in result)) throw new Error(`held by ${result.heldBy.node}`);
  return result.claimed;
};

test('a claim is exclusive, found by lookup, announced, and free again once released; every claim raises the epoch', async (t) => {
  const s = space();
  const [a, b] = [await node('a', s), await node('b', s)];
  const announced = firstValueFrom(b.events$.pipe(filter((e) => e.type === 'claimed'), take(2), toArray()));
  const first = claimed(await a.claim('live/cam'));
  t.is(first.node, 'a');
  const refused = await b.claim('live/cam');
  t.true('heldBy' in refused && refused.heldBy.node === 'a' && refused.heldBy.epoch === first.epoch);
  t.deepEqual(await b.lookup('live/cam'), first);
  t.is(await b.lookup('live/other'), undefined);
  await a.release('live/cam');
  t.is(await b.lookup('live/cam'), undefined);
  const second = claimed(await b.claim('live/cam'));
  t.is(second.node, 'b');
  t.true(second.epoch > first.epoch, `${second.epoch} > ${first.epoch}`);
  const events = await announced;
  t.deepEqual(events.map((e) => (e.type === 'claimed' ? `${e.claim.node}@${e.claim.epoch}` : e.type)), [`a@${first.epoch}`, `b@${second.epoch}`]);
  // A release by a node that no longer holds the key leaves the holder's claim alone.
  await a.release('live/cam');
  t.is((await a.lookup('live/cam'))?.node, 'b');
});

test('of ten nodes claiming one key at once, exactly one wins', async (t) => {
  const s = space();
  const nodes = await Promise.all(Array.from({ length: 10 }, (_, i) => node(`n${i}`, s)));
  const results = await Promise.all(nodes.map((n) => n.claim('live/race')));
  const winners = results.filter((r) => 'claimed' in r);
  t.is(winners.length, 1);
  const winner = claimed(winners[0]!).node;
  t.true(results.every((r) => ('claimed' in r ? r.claimed.node : r.heldBy.node) === winner));
});

test('compare-and-extend keeps a claim past its lease while its node lives', async (t) => {
  const s = space();
  const a = await node('a', s, { nodeLeaseMs: 300, streamLeaseMs: 300 });
  const b = await node('b', s, { nodeLeaseMs: 300, streamLeaseMs: 300 });
  const claim = claimed(await a.claim('live/kept'));
  await delay(1_000);
  t.deepEqual(await b.lookup('live/kept'), claim);
  t.true('heldBy' in (await b.claim('live/kept')));
});

test('the claim of a node killed with SIGKILL is taken over once its node lease lapses, with a higher epoch', async (t) => {
  t.timeout(30_000);
  const s = space();
  const script = `
    const { RedisDirectory } = require(${JSON.stringify(join(__dirname, '..', '..', 'lib', 'cluster', 'redis-directory'))});
    RedisDirectory.connect({ url: ${JSON.stringify(redis.url)}, prefix: 't${s}:', nodeLeaseMs: 500, streamLeaseMs: 60000 }).then(async (d) => {
      await d.join({ id: 'doomed', address: '127.0.0.1:1', pid: process.pid, startedAt: Date.now() });
      const result = await d.claim('live/cam');
      console.log('claimed ' + result.claimed.epoch);
    });`;
  const child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  const epoch = await new Promise<number>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      const m = /claimed (\d+)/.exec(d.toString());
      if (m) resolve(Number(m[1]));
    });
    child.once('exit', () => reject(new Error('the child exited before claiming')));
  });
  const b = await node('b', s);
  t.true('heldBy' in (await b.claim('live/cam')), 'a live holder keeps its claim');
  child.kill('SIGKILL');
  // The claim's own lease is a minute; the dead node's half a second.
  await delay(800);
  const taken = claimed(await b.claim('live/cam'));
  t.is(taken.node, 'b');
  t.true(taken.epoch > epoch);
});

test('with Redis down, lookups and claims fail at once with DirectoryUnavailableError; when it is back the node and its claims are restored', async (t) => {
  t.timeout(30_000);
  // A Redis of its own: this test stops it.
  const own = await startRedis();
  try {
    const a = await RedisDirectory.connect({ url: own.url, logger: silentLogger });
    opened.push(a);
    await a.join({ id: 'a', address: '127.0.0.1:1', pid: process.pid, startedAt: Date.now() });
    const before = claimed(await a.claim('live/cam'));
    const down = firstValueFrom(a.available$.pipe(filter((up) => !up)));
    await own.stop();
    await down;
    const started = Date.now();
    await t.throwsAsync(a.lookup('live/cam'), { instanceOf: DirectoryUnavailableError });
    await t.throwsAsync(a.claim('live/other'), { instanceOf: DirectoryUnavailableError });
    t.true(Date.now() - started < 2_000, `failed after ${Date.now() - started} ms`);
    // It comes back empty (no persistence): the claim is taken again, with a higher epoch.
    await own.start();
    await firstValueFrom(a.available$.pipe(filter((up) => up)));
    let after: StreamClaim | undefined;
    for (const deadline = Date.now() + 5_000; Date.now() < deadline && after === undefined; await delay(50)) after = await a.lookup('live/cam');
    t.is(after?.node, 'a');
    t.true(after!.epoch > before.epoch);
  } finally {
    await own.stop();
  }
});
