import test from 'ava';
import { Observable } from 'rxjs';
import type { Frame } from '../../lib/plugins/contract';
import { LiveRegistry } from '../../lib/media/registry';
import { RenderedStream } from '../../lib/media/rendered-stream';
import { MessageType } from '../../lib/protocol/message';
import type { NetStream } from '../../lib/session/net-stream';
import { FakeEncoder } from '../helpers/fake-encoder';
import { delay, until } from '../helpers/live';

/** A NetStream stand-in that records what it is sent and reports a queue depth the spec controls. */
function fakePlayerStream(name: string) {
  const sent: Array<{ typeId: number; time: number; key: boolean }> = [];
  const stream = {
    name,
    queuedBytes: 0,
    closed: '',
    connection: { close: (reason: string) => void (stream.closed = reason) },
    sendSharedMedia: (typeId: number, time: number, payload: Buffer) => {
      sent.push({ typeId, time, key: typeId === MessageType.Video && payload[0] === 0x13 });
      return true;
    },
  };
  return { stream, sent, asNetStream: stream as unknown as NetStream };
}

function setup(rate = 100) {
  const registry = new LiveRegistry();
  const encoder = new FakeEncoder();
  let frameNumber = 0;
  const rendered = new RenderedStream(registry.openSource('demo', 'scene'), {
    encoder,
    codecId: 3,
    rate,
    render: () => ({ width: 16, height: 16, format: 'bgr24', data: new Uint8Array(16 * 16 * 3).fill(frameNumber++ % 256) }),
  });
  const watch = (name: string) => {
    const player = fakePlayerStream(name);
    registry.play('demo', 'scene', player.asNetStream);
    registry.startPlaying(player.asNetStream);
    return player;
  };
  return { registry, encoder, rendered, watch };
}

type Sent = { typeId: number; time: number; key: boolean };
const videoOf = (sent: Sent[]): Sent[] => sent.filter((m) => m.typeId === MessageType.Video);

test('renders only while somebody plays the stream', async (t) => {
  const { registry, rendered, watch, encoder } = setup();
  await delay(100);
  t.is(rendered.current.rendered, 0, 'nothing rendered without players');
  const player = watch('a');
  await until(() => videoOf(player.sent).length >= 5);
  t.true(rendered.current.running);
  t.true(videoOf(player.sent)[0]!.key, 'starts on a key frame');
  registry.stop(player.asNetStream);
  await delay(30);
  const count = encoder.encoded.length;
  await delay(100);
  t.false(rendered.current.running);
  t.is(encoder.encoded.length, count, 'no rendering after stop');
  await rendered.close();
  t.true(encoder.closed);
});

test('a paused player stops the rendering (the encoder is kept) and resumes on a key frame', async (t) => {
  const { registry, rendered, watch, encoder } = setup();
  const player = watch('a');
  await until(() => videoOf(player.sent).length >= 5);
  registry.setPaused(player.asNetStream, true);
  await delay(30);
  const sentWhilePaused = player.sent.length;
  await delay(100);
  t.is(player.sent.length, sentWhilePaused, 'a paused player receives no frames');
  t.false(rendered.current.running);
  t.false(encoder.closed, 'pausing keeps the encoder');
  registry.setPaused(player.asNetStream, false);
  await until(() => videoOf(player.sent.slice(sentWhilePaused)).length >= 3);
  t.true(videoOf(player.sent.slice(sentWhilePaused))[0]!.key, 'resumes on a key frame');
  await rendered.close();
});

test('frames are skipped when the only player cannot take them, and the source learns of it', async (t) => {
  const { rendered, watch } = setup();
  const player = watch('a');
  await until(() => videoOf(player.sent).length >= 3);
  player.stream.queuedBytes = 10 * 1024 * 1024;
  const before = player.sent.length;
  await delay(100);
  t.true(rendered.current.skipped > 3, `skipped ${rendered.current.skipped}`);
  t.is(player.sent.length, before, 'nothing queued behind a full queue');
  player.stream.queuedBytes = 0;
  await until(() => player.sent.length > before);
  await rendered.close();
});

test('one stuck player does not stall the renderer or the other players, nor make every frame a key frame', async (t) => {
  const { rendered, watch } = setup();
  const fast = watch('fast');
  const stuck = watch('stuck');
  await until(() => videoOf(stuck.sent).length >= 2);
  stuck.stream.queuedBytes = 10 * 1024 * 1024;
  const before = videoOf(fast.sent).length;
  const stuckBefore = stuck.sent.length;
  await delay(200);
  const fastVideo = videoOf(fast.sent).slice(before);
  t.true(fastVideo.length >= 10, `the fast player got ${fastVideo.length} frames`);
  t.true(fastVideo.filter((m) => m.key).length <= fastVideo.length / 3, 'mostly inter frames');
  t.is(stuck.sent.length, stuckBefore, 'the stuck player had frames dropped, not queued');
  await rendered.close();
});

test('an application frame Observable is subscribed only while somebody plays, and its frames are encoded', async (t) => {
  const registry = new LiveRegistry();
  const encoder = new FakeEncoder();
  let subscriptions = 0;
  let unsubscriptions = 0;
  const rendered = new RenderedStream(registry.openSource('demo', 'frames'), {
    encoder,
    codecId: 3,
    frames: () =>
      new Observable<Frame>((subscriber) => {
        subscriptions++;
        let n = 0;
        const timer = setInterval(() => subscriber.next({ width: 8, height: 8, format: 'bgr24', data: new Uint8Array(192).fill(n++) }), 10);
        return () => {
          unsubscriptions++;
          clearInterval(timer);
        };
      }),
  });
  await delay(50);
  t.is(subscriptions, 0, 'not subscribed without players');
  const player = fakePlayerStream('a');
  registry.play('demo', 'frames', player.asNetStream);
  registry.startPlaying(player.asNetStream);
  await until(() => videoOf(player.sent).length >= 5);
  t.is(subscriptions, 1);
  registry.stop(player.asNetStream);
  await delay(20);
  t.is(unsubscriptions, 1, 'unsubscribed when the last player stopped');
  await rendered.close();
});
