import test from 'ava';
import { Subject } from 'rxjs';
import { CommandQueue, dispatchCommands } from '../../lib/pipeline/dispatch';

interface Job {
  streamId: number;
  name: string;
}

/** A handler whose calls are recorded and settled by hand. */
function controlled(): { handle: (job: Job) => Promise<void>; started: string[]; finish: (name: string, error?: Error) => void } {
  const started: string[] = [];
  const pending = new Map<string, { resolve: () => void; reject: (error: Error) => void }>();
  return {
    started,
    handle: (job) =>
      new Promise<void>((resolve, reject) => {
        started.push(job.name);
        pending.set(job.name, { resolve, reject });
      }),
    finish: (name, error) => (error ? pending.get(name)!.reject(error) : pending.get(name)!.resolve()),
  };
}

const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

test('commands on stream 0 start at once and run side by side', (t) => {
  const { handle, started } = controlled();
  const queue = new CommandQueue<Job>(handle, () => undefined);
  queue.push({ streamId: 0, name: 'connect' });
  queue.push({ streamId: 0, name: 'slowCall' });
  queue.push({ streamId: 0, name: 'createStream' });
  t.deepEqual(started, ['connect', 'slowCall', 'createStream'], 'none waits for another');
  t.is(queue.inFlight, 3);
});

test('one stream’s commands run in order, each after the one before has settled; other streams do not wait', async (t) => {
  const { handle, started, finish } = controlled();
  const queue = new CommandQueue<Job>(handle, () => undefined);
  queue.push({ streamId: 1, name: 'play' });
  queue.push({ streamId: 1, name: 'pause' });
  queue.push({ streamId: 2, name: 'publish' });
  queue.push({ streamId: 0, name: 'call' });
  t.deepEqual(started, ['play', 'publish', 'call'], 'the idle lanes start at once');
  await settle();
  t.deepEqual(started, ['play', 'publish', 'call'], 'pause waits for play');
  finish('play');
  await settle();
  t.deepEqual(started, ['play', 'publish', 'call', 'pause']);
  t.is(queue.inFlight, 3);
});

test('a handler that throws or rejects is reported, and the commands behind it still run', async (t) => {
  const errors: string[] = [];
  const ran: string[] = [];
  const queue = new CommandQueue<Job>(
    (job) => {
      ran.push(job.name);
      if (job.name === 'throws') throw new Error('thrown');
      if (job.name === 'rejects') return Promise.reject(new Error('rejected'));
      return undefined;
    },
    (error) => errors.push((error as Error).message),
  );
  queue.push({ streamId: 3, name: 'throws' });
  queue.push({ streamId: 3, name: 'rejects' });
  queue.push({ streamId: 3, name: 'after' });
  await settle();
  t.deepEqual(ran, ['throws', 'rejects', 'after']);
  t.deepEqual(errors, ['thrown', 'rejected']);
  t.is(queue.inFlight, 0);
});

test('close drops what waits; nothing starts after the running handlers', async (t) => {
  const { handle, started, finish } = controlled();
  const queue = new CommandQueue<Job>(handle, () => undefined);
  queue.push({ streamId: 1, name: 'play' });
  queue.push({ streamId: 1, name: 'seek' });
  queue.close();
  t.is(queue.inFlight, 1, 'only play is left to settle');
  finish('play');
  await settle();
  queue.push({ streamId: 0, name: 'late' });
  t.deepEqual(started, ['play']);
});

test('dispatchCommands completes once the source has and every handler settled', async (t) => {
  const { handle, finish } = controlled();
  const source = new Subject<Job>();
  let completed = false;
  source.pipe(dispatchCommands(handle, () => undefined)).subscribe({ complete: () => (completed = true) });
  source.next({ streamId: 1, name: 'a' });
  source.next({ streamId: 1, name: 'b' });
  source.complete();
  await settle();
  t.false(completed, 'a is running and b waits');
  finish('a');
  await settle();
  t.false(completed, 'b is running');
  finish('b');
  await settle();
  t.true(completed);
});
