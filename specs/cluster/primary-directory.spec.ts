import test from 'ava';
import { firstValueFrom, filter, take, toArray } from 'rxjs';
import { DirectoryUnavailableError, StreamClaim } from '../../lib/cluster/directory';
import { DirectoryHost, DirectoryMessage, IpcDirectory } from '../../lib/cluster/primary-directory';

/** A worker's IpcDirectory wired to the host through in-memory channels, as node:cluster's IPC would carry it. */
function worker(host: DirectoryHost, id: string): { directory: IpcDirectory; exit(): void; disconnect(): void } {
  const listeners: Array<(message: unknown) => void> = [];
  let connected = true;
  // Structured clone, as IPC would: nothing shared by reference.
  const link = host.attach(id, (message) => setImmediate(() => listeners.forEach((l) => l(structuredClone(message)))));
  const directory = new IpcDirectory({
    send: (message: DirectoryMessage) => setImmediate(() => link.receive(structuredClone(message))),
    onMessage: (listener) => listeners.push(listener),
    get connected() {
      return connected;
    },
  });
  return { directory, exit: () => link.gone(), disconnect: () => (connected = false) };
}

async function joined(host: DirectoryHost, id: string): Promise<ReturnType<typeof worker>> {
  const w = worker(host, id);
  await w.directory.join({ id, address: `127.0.0.1:${id.length}`, pid: 1, startedAt: Date.now() });
  return w;
}

const claimed = (result: Awaited<ReturnType<IpcDirectory['claim']>>): StreamClaim => {
  if (!('claimed' in result)) throw new Error(`held by ${result.heldBy.node}`);
  return result.claimed;
};

test('the primary keeps claims exclusive, announces them to every worker, and raises the epoch on each', async (t) => {
  const host = new DirectoryHost();
  const [a, b] = [await joined(host, 'a'), await joined(host, 'b')];
  const heard = firstValueFrom(b.directory.events$.pipe(filter((e) => e.type === 'claimed'), take(2), toArray()));
  const first = claimed(await a.directory.claim('live/cam'));
  const refused = await b.directory.claim('live/cam');
  t.true('heldBy' in refused && refused.heldBy.node === 'a');
  t.deepEqual(await b.directory.lookup('live/cam'), first);
  await b.directory.release('live/cam');
  t.is((await b.directory.lookup('live/cam'))?.node, 'a', 'a release by a node that does not hold it changes nothing');
  await a.directory.release('live/cam');
  t.is(await b.directory.lookup('live/cam'), undefined);
  const second = claimed(await b.directory.claim('live/cam'));
  t.true(second.epoch > first.epoch);
  t.deepEqual((await heard).map((e) => (e.type === 'claimed' ? e.claim.node : '')), ['a', 'b']);
});

test('a worker that exits takes its claims with it: another claims the name at once, with a higher epoch', async (t) => {
  const host = new DirectoryHost();
  const [a, b] = [await joined(host, 'a'), await joined(host, 'b')];
  const first = claimed(await a.directory.claim('live/cam'));
  const released = firstValueFrom(b.directory.events$.pipe(filter((e) => e.type === 'released')));
  a.exit();
  t.is((await released).type, 'released');
  const taken = claimed(await b.directory.claim('live/cam'));
  t.is(taken.node, 'b');
  t.true(taken.epoch > first.epoch);
});

test('of ten workers claiming one name at once, exactly one wins', async (t) => {
  const host = new DirectoryHost();
  const workers = await Promise.all(Array.from({ length: 10 }, (_, i) => joined(host, `w${i}`)));
  const results = await Promise.all(workers.map((w) => w.directory.claim('live/race')));
  t.is(results.filter((r) => 'claimed' in r).length, 1);
});

test('a worker cut off from the primary fails at once with DirectoryUnavailableError', async (t) => {
  const host = new DirectoryHost();
  const a = await joined(host, 'a');
  a.disconnect();
  await t.throwsAsync(a.directory.lookup('live/cam'), { instanceOf: DirectoryUnavailableError });
  t.false(a.directory.available);
});

test('a request of no known shape is answered with an error, and the directory goes on', async (t) => {
  const host = new DirectoryHost();
  const replies: DirectoryMessage[] = [];
  const link = host.attach('odd', (message) => replies.push(message));
  link.receive({ rxrtmpDirectory: 'request', id: 7, op: 'claim' });
  link.receive({ rxrtmpDirectory: 'request', id: 8, op: 'drop-table', key: 'live/cam' });
  t.deepEqual(replies.map((r) => (r.rxrtmpDirectory === 'reply' ? [r.id, typeof r.error] : [])), [[7, 'string'], [8, 'string']]);
  const a = await joined(host, 'a');
  t.is(claimed(await a.directory.claim('live/cam')).node, 'a');
});
