import test from 'ava';
import type { Socket } from 'node:net';
import { Packr } from 'msgpackr';
import { WebSocket } from 'ws';
import { RtmpClient } from '../../lib';
import { createWebServer } from '../../lib/web/web-server';
import { delay, liveServer, player, publisher } from '../helpers/live';

/**
 * A viewer that selects a connection (so that each frame carries its whole history), then
 * never reads again: its socket is paused, and the kernel's buffers fill.
 */
async function stalledViewer(port: number, select: string): Promise<Socket> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/api/inspect`);
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  ws.send(new Packr({ useRecords: false }).pack({ type: 'select', id: select }));
  await delay(100);
  const socket = (ws as unknown as { _socket: Socket })._socket;
  socket.pause();
  return socket;
}

test('an inspector viewer that stops reading for 60 s under 200 connections costs bounded memory and no RTMP frame', async (t) => {
  t.timeout(120_000);
  const { server, registry, url } = await liveServer();
  const maxBuffered = 256 * 1024;
  const web = createWebServer(server, { live: registry, inspectIntervalMs: 100, sampleMs: 200, inspectMaxBuffered: maxBuffered });
  const { port } = await web.listen(0, '127.0.0.1');
  const clients: RtmpClient[] = [];
  let churning = true;
  try {
    const pub = await publisher(url, 'stall');
    // A chatty client: each unknown call and its _error add to its history, which the stalled viewer selected.
    const chatty = await RtmpClient.connect(url);
    clients.push(chatty);
    // The server's set keeps accept order: the chatty client is the newest.
    const chattyId = [...server.connections].pop()!.id;
    const viewer = await stalledViewer(port, chattyId);
    const players = await Promise.all(Array.from({ length: 10 }, () => player(url, 'stall')));
    for (let i = 0; i < 188; i++) clients.push(await RtmpClient.connect(url));
    t.is(server.connections.size, 200);
    // Churn: a connection leaves and another comes five times a second, so every frame has changes.
    const chatter = (async () => {
      while (churning) {
        await chatty.call('nothingHere', 'x'.repeat(200)).catch(() => undefined);
        await delay(5);
      }
    })();
    const churn = (async () => {
      while (churning) {
        const gone = clients.splice(1, 1)[0];
        await gone?.close();
        clients.push(await RtmpClient.connect(url));
        await delay(200);
      }
    })();
    let sent = 0;
    const frame = Buffer.alloc(2000, 1);
    const send = (): void => {
      const key = sent % 25 === 0;
      pub.stream.sendMedia({ typeId: 9, timestamp: sent * 40, payload: Buffer.concat([Buffer.from([key ? 0x13 : 0x23]), frame]) });
      sent++;
    };
    send();
    await delay(5_000);
    const rssAt5 = process.memoryUsage().rss;
    const started = Date.now();
    while (Date.now() - started < 60_000) {
      send();
      await delay(40);
    }
    await delay(500);
    const rssGrowth = (process.memoryUsage().rss - rssAt5) / 1e6;
    churning = false;
    await churn;
    await chatter;
    const backlog = Math.max(...web.inspector.backlogs());
    t.log(`stalled viewer backlog ${backlog} B, ${web.inspector.skippedFrames} frames skipped, RSS growth ${rssGrowth.toFixed(1)} MB over 60 s, ${sent} frames sent`);
    t.true(web.inspector.skippedFrames > 0, 'the viewer did fall behind');
    t.true(backlog <= maxBuffered + 1024 * 1024, `backlog ${backlog}`);
    t.true(rssGrowth < 50, `RSS grew ${rssGrowth.toFixed(1)} MB`);
    for (const p of players) t.is(p.received.filter((m) => m.typeId === 9).length, sent);
    t.is(web.observatory.droppedFrames(), 0);
    viewer.destroy();
    await Promise.all(players.map((p) => p.client.close()));
    await pub.client.close();
  } finally {
    churning = false;
    for (const c of clients) await c.close().catch(() => undefined);
    await web.close();
    await server.close();
  }
});
