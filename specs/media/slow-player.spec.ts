import test from 'ava';
import { MessageType } from '../../lib/protocol/message';
import { RawPeer } from '../helpers/raw-peer';
import { delay, isFrame, liveServer, player, publisher, recordedMedia, until } from '../helpers/live';
import type { ClientStream } from '../../lib/client';

const MAX_QUEUE = 256 * 1024;

/** A player that plays and then stops reading its socket altogether. */
async function stalledPlayer(port: number): Promise<RawPeer> {
  const peer = await RawPeer.connected(port, 'live');
  peer.command({ name: 'createStream', transactionId: 2, commandObject: null, args: [] });
  await peer.waitFor((c) => c.transactionId === 2);
  peer.command({ name: 'play', transactionId: 0, commandObject: null, args: ['cam'] }, 1);
  await peer.waitFor((c) => c.name === 'onStatus' && JSON.stringify(c.args).includes('Play.Start'));
  peer.socket.pause();
  return peer;
}

/**
 * Loops the recording `passes` times with rising timestamps: about 1 MB a pass. With
 * `caughtUp`, it waits every `step` messages until that resolves for the frames sent so
 * far, so that a player that does read is never far enough behind (on a loaded machine)
 * for its own queue bound to drop frames.
 */
async function sendPasses(stream: ClientStream, passes: number, caughtUp?: (frames: number) => Promise<void>, step = 64): Promise<number> {
  let frames = 0;
  let messages = 0;
  for (let pass = 0; pass < passes; pass++) {
    for (const m of recordedMedia) {
      if (pass > 0 && m.typeId === MessageType.Video && m.payload[1] === 0) continue;
      stream.sendMedia({ typeId: m.typeId, timestamp: m.timestamp + pass * 4100, payload: m.payload });
      if (isFrame(m)) frames++;
      if (caughtUp !== undefined && ++messages % step === 0) await caughtUp(frames);
    }
  }
  return frames;
}

test('a player that stops reading does not change what others receive, and its queue stays bounded', async (t) => {
  const { server, registry, url, port } = await liveServer({ player: { maxQueueBytes: MAX_QUEUE, maxBehindMs: 60_000 } });
  try {
    const source = await publisher(url, 'cam');
    const fast = await player(url, 'cam');
    const slow = await stalledPlayer(port);
    const framesOf = (): number => fast.received.filter(isFrame).length;
    const sent = await sendPasses(source.stream, 24, (frames) => until(() => framesOf() >= frames, 20_000));
    await until(() => framesOf() >= sent, 20_000);
    t.is(fast.received.filter(isFrame).length, sent, 'the fast player got every frame');

    const slowConnection = [...server.connections].find((c) => c.stats().queuedBytes > 0);
    t.truthy(slowConnection, 'the stalled player has bytes queued');
    t.true(slowConnection!.stats().queuedBytes <= 2 * MAX_QUEUE + 64 * 1024, `queued ${slowConnection!.stats().queuedBytes}`);
    const slowPlayer = [...registry.get('live', 'cam')!.players].find((p) => p.stream.connection === slowConnection)!;
    t.true(slowPlayer.stats.dropped > 0, 'the stalled player had frames dropped');
    slow.destroy();
    await fast.client.close();
    await source.client.close();
  } finally {
    await server.close();
  }
});

test('a player that stays behind past the limit is disconnected, and the others play on', async (t) => {
  // The limit leaves room for a loaded machine: the in-process fast player must never look stalled.
  const { server, url, port } = await liveServer({ player: { maxQueueBytes: MAX_QUEUE, maxBehindMs: 1_000 } });
  try {
    const source = await publisher(url, 'cam');
    const fast = await player(url, 'cam');
    const slow = await stalledPlayer(port);
    // Media keeps coming, as from a real publisher, until the stalled peer has been behind
    // past the limit: how soon its socket buffers fill depends on the kernel and the load.
    const deadline = Date.now() + 15_000;
    while (server.connections.size !== 2 && Date.now() < deadline) {
      await sendPasses(source.stream, 2);
      await delay(200);
    }
    // The stalled peer reads nothing, so it is the server's side that shows the disconnect.
    await until(() => server.connections.size === 2, 1_000);
    t.is(fast.client.closeReason, undefined);
    slow.destroy();
    await fast.client.close();
    await source.client.close();
  } finally {
    await server.close();
  }
});
