import test from 'ava';
import { RtmpClient } from '../../lib';
import { decodeRecording, FlightRecording, replayStates } from '../../lib/web/flight-recorder';
import { createWebServer } from '../../lib/web/web-server';
import { delay, liveServer, player, publisher, until } from '../helpers/live';

async function recordingServer(apps: string[]) {
  const { server, registry, url } = await liveServer();
  const web = createWebServer(server, { live: registry, sampleMs: 100, recorder: { apps } });
  const { port } = await web.listen(0, '127.0.0.1');
  return { web, url, base: `http://127.0.0.1:${port}`, close: async () => { await web.close(); await server.close(); } };
}

test('off by default: nothing is recorded', async (t) => {
  const { web, url, close } = await recordingServer([]);
  try {
    const client = await RtmpClient.connect(url);
    await client.close();
    await delay(50);
    t.deepEqual(web.observatory.recorder.list(), []);
  } finally {
    await close();
  }
});

test('a recorded app: the session is downloadable as msgpack, holds transitions, commands without arguments and media summaries, and replays to the same states', async (t) => {
  const { web, url, base, close } = await recordingServer(['live']);
  try {
    const pub = await publisher(url, 'rec');
    const play = await player(url, 'rec');
    for (let i = 0; i < 5; i++) {
      pub.stream.sendMedia({ typeId: 8, timestamp: i * 23, payload: Buffer.from([0xaf, 1, i]) });
      await delay(60);
    }
    await play.client.close();
    await pub.client.close();
    await until(() => web.observatory.recorder.list().filter((r) => r.endedAt !== null).length === 2, 3000);
    const { recordings } = (await (await fetch(`${base}/api/recordings`)).json()) as { recordings: { id: string; connection: { app: string } }[] };
    t.is(recordings.length, 2);
    for (const listed of recordings) {
      const response = await fetch(`${base}/api/recordings/${listed.id}`);
      t.is(response.headers.get('content-type'), 'application/x-msgpack');
      const recording: FlightRecording = decodeRecording(Buffer.from(await response.arrayBuffer()));
      t.is(recording.connection.app, 'live');
      t.is(recording.start.state, 'handshake');
      const states = recording.events.filter((e) => e.kind === 'event').map((e) => (e as { state: string }).state);
      t.true(states.includes('streaming'), states.join(' '));
      t.is(states[states.length - 1], 'closed');
      t.deepEqual(replayStates(recording), states);
      t.true(recording.events.some((e) => e.kind === 'command' && e.name === 'connect' && !('args' in e)));
      t.false(JSON.stringify(recording).includes('"args"'));
    }
    const media = (await Promise.all(recordings.map(async (r) => decodeRecording(Buffer.from(await (await fetch(`${base}/api/recordings/${r.id}`)).arrayBuffer())))))
      .flatMap((r) => r.events)
      .filter((e) => e.kind === 'media');
    t.true(media.length > 0);
  } finally {
    await close();
  }
});

test('a connection of an app that is not recorded is dropped at connect; recording one connection from now on replays from its state then', async (t) => {
  const { web, url, base, close } = await recordingServer(['other']);
  const client = await RtmpClient.connect(url);
  try {
    await delay(50);
    t.deepEqual(web.observatory.recorder.list(), []);
    const id = [...web.observatory.rows()][0]!.id;
    const started = await fetch(`${base}/api/connections/${id}/record`, { method: 'POST' });
    t.is(started.status, 201);
    const stream = await client.createStream();
    await stream.play('nobody');
    await until(() => web.observatory.rows()[0]?.state === 'streaming');
    const { recording } = (await started.json()) as { recording: string };
    const live = (await (await fetch(`${base}/api/recordings/${recording}.json`)).json()) as FlightRecording;
    t.is(live.start.state, 'connected');
    const states = live.events.filter((e) => e.kind === 'event').map((e) => (e as { state: string }).state);
    t.true(states.includes('streaming'));
    t.deepEqual(replayStates(live), states);
  } finally {
    await client.close();
    await close();
  }
});

test('a delayed transition (a timeout) replays as the event xstate names it', (t) => {
  const context = { id: '1', remoteAddress: 'x', timeouts: { handshake: 10_000, connect: 10_000 }, app: undefined, activeStreams: 0, createdStreams: 0, closeReason: undefined };
  const recording: FlightRecording = {
    format: 'rxrtmp-flight/1',
    id: '1',
    connection: { id: '1', address: 'x', app: null },
    startedAt: 0,
    endedAt: 1,
    start: { state: 'awaitingConnect', context },
    events: [
      { t: 10_000, kind: 'event', event: { type: 'xstate.after.connectTimeout.rtmpConnection.awaitingConnect' }, state: 'closing' },
      { t: 10_001, kind: 'event', event: { type: 'TRANSPORT_CLOSED' }, state: 'closed' },
    ],
    truncated: 0,
  };
  t.deepEqual(replayStates(recording), ['closing', 'closed']);
  // A recording whose events do not fit the machine does not replay to its states.
  t.notDeepEqual(replayStates({ ...recording, start: { state: 'connected', context } }), ['closing', 'closed']);
});
