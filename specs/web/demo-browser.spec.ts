import test from 'ava';
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, Page } from 'playwright-core';
import { createServer, silentLogger } from '../../lib';
import { installDemo } from '../../lib/demo/demo-app';
import { DemoScene } from '../../lib/demo/scene';
import { PluginRegistry } from '../../lib/plugins/registry';
import { createWebServer } from '../../lib/web/web-server';

const SHOTS = join(tmpdir(), 'rxrtmp-console-shots');

/** The page's canvas as RGBA bytes. */
async function canvasPixels(page: Page): Promise<Buffer> {
  const base64 = (await page.evaluate(`(() => {
    const c = document.querySelector('#scene');
    const bytes = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let s = '';
    for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
    return btoa(s);
  })()`)) as string;
  return Buffer.from(base64, 'base64');
}

/** Where the cube is: the centre of the pixels that differ from the scene's still background (BGR). */
function cubeCentre(rgba: Uint8Array, background: Uint8Array, width: number): { x: number; y: number; n: number } {
  let [sx, sy, n] = [0, 0, 0];
  for (let i = 0, b = 0; i < rgba.length; i += 4, b += 3) {
    const diff = Math.abs(rgba[i]! - background[b + 2]!) + Math.abs(rgba[i + 1]! - background[b + 1]!) + Math.abs(rgba[i + 2]! - background[b]!);
    if (diff > 30) [sx, sy, n] = [sx + ((i / 4) % width), sy + Math.floor(i / 4 / width), n + 1];
  }
  return { x: sx / n, y: sy / n, n };
}

interface DemoStats {
  rtts: number[];
  effects: number[];
  frames: number;
  calls: number;
  errors: string[];
  connected: boolean;
}
const stats = async (page: Page): Promise<DemoStats> => (await page.evaluate('window.demo')) as DemoStats;
const median = (values: number[]): number => values.slice().sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? NaN;

test('in headless Chromium, the demo page plays the scene over RTMP over WebSocket, echo answers, a drag moves the cube, pause stops the frames; H.264 plays through WebCodecs', async (t) => {
  mkdirSync(SHOTS, { recursive: true });
  const plugins = new PluginRegistry();
  await plugins.loadDirectory(join(__dirname, '..', '..', 'plugins'));
  const server = createServer({ logger: silentLogger });
  installDemo(server, { plugins });
  const web = createWebServer(server, {});
  const { port } = await web.listen(0, '127.0.0.1');
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu'] });
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const pageErrors: string[] = [];
    page.on('pageerror', (error) => pageErrors.push(error.message));
    await page.goto(`http://127.0.0.1:${port}/demo`);
    await page.waitForFunction('window.demo && window.demo.connected && window.demo.frames >= 5', undefined, { timeout: 20_000 });
    t.is(server.connections.size, 1);
    t.regex([...server.connections][0]!.remoteAddress, /^ws:/, 'the page connected over WebSocket');

    await page.click('#echo');
    await page.waitForFunction(`document.querySelector('#echo-answer').textContent !== ''`);
    t.is(await page.textContent('#echo-answer'), '["hello",42]');

    // The picture changes over time while playing (the cube turns).
    const first = await canvasPixels(page);
    await page.waitForTimeout(300);
    const second = await canvasPixels(page);
    t.false(first.equals(second), 'the canvas changes while playing');

    // A drag right and down moves the cube right and down.
    const background = new DemoScene(640, 360).backgroundFrame().data;
    const before = cubeCentre(second, background, 640);
    const box = (await page.locator('#scene').boundingBox())!;
    const scale = box.width / 640;
    await page.mouse.move(box.x + 320 * scale, box.y + 180 * scale);
    await page.mouse.down();
    for (let step = 1; step <= 10; step++) {
      await page.mouse.move(box.x + (320 + 15 * step) * scale, box.y + (180 + 6 * step) * scale);
      await page.waitForTimeout(30);
    }
    await page.mouse.up();
    await page.waitForFunction('window.demo.calls > 0 && window.demo.effects.length > 0 && window.demo.rtts.length === window.demo.calls');
    await page.waitForTimeout(200);
    const after = cubeCentre(await canvasPixels(page), background, 640);
    t.true(after.x - before.x > 100, `the cube moved right: ${before.x.toFixed(0)} → ${after.x.toFixed(0)}`);
    t.true(after.y - before.y > 40, `the cube moved down: ${before.y.toFixed(0)} → ${after.y.toFixed(0)}`);
    await page.screenshot({ path: join(SHOTS, 'demo-screen-video.png') });
    const moved = await stats(page);
    t.log(`screen-video over WebSocket in Chromium: ${moved.calls} moveCamera calls, answer median ${median(moved.rtts).toFixed(1)} ms, first frame showing it median ${median(moved.effects).toFixed(1)} ms`);

    // Pausing stops the frames; resuming brings them back.
    await page.click('#pause');
    await page.waitForTimeout(300);
    const paused = (await stats(page)).frames;
    await page.waitForTimeout(600);
    t.is((await stats(page)).frames, paused, 'no frames while paused');
    await page.click('#pause');
    await page.waitForFunction(`window.demo.frames > ${paused}`);
    t.deepEqual((await stats(page)).errors, []);

    // H.264, rendered by the ffmpeg plugin and decoded by WebCodecs, drawn on the same canvas.
    const h264 = await browser.newPage();
    h264.on('pageerror', (error) => pageErrors.push(error.message));
    await h264.goto(`http://127.0.0.1:${port}/demo?codec=h264`);
    await h264.waitForFunction('window.demo && window.demo.frames >= 10', undefined, { timeout: 30_000 });
    const a = await canvasPixels(h264);
    await h264.waitForTimeout(300);
    t.false(a.equals(await canvasPixels(h264)), 'the H.264 canvas changes while playing');
    t.true(cubeCentre(a, background, 640).n > 1000, 'the cube is drawn from the H.264 frames');
    await h264.screenshot({ path: join(SHOTS, 'demo-h264.png') });
    t.deepEqual((await stats(h264)).errors, []);
    t.deepEqual(pageErrors, []);
  } finally {
    await browser.close();
    await web.close();
    await server.close();
    await plugins.close();
  }
});

test('in headless Chromium, the bundled client keeps its API over WebSocket: connect with arguments, the server invokes a page handler, publish reaches the server byte for byte', async (t) => {
  const server = createServer({ logger: silentLogger });
  let connectArgs: unknown;
  const published: Array<{ typeId: number; timestamp: number; payload: number[] }> = [];
  server.onConnect({
    connect: (connection, request) => {
      if (request.properties.app !== 'browser') return undefined;
      connectArgs = request.args;
      // A call that makes the server call the page back, and answers with what the page said.
      connection.onCall('askBack', async (call) => connection.invoke('whoAreYou', ...call.args));
      return true;
    },
  });
  server.onStream({
    publish: (stream) => {
      stream.published$.subscribe((m) => published.push({ typeId: m.typeId, timestamp: m.timestamp, payload: [...m.payload] }));
      return true;
    },
  });
  const web = createWebServer(server, {});
  const { port } = await web.listen(0, '127.0.0.1');
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu'] });
  try {
    const page = await browser.newPage();
    await page.goto(`http://127.0.0.1:${port}/demo`);
    const result = (await page.evaluate(`(async () => {
      const client = await rxrtmp.RtmpClient.connect('ws://' + location.host + '/rtmp/browser', { args: ['from the page', 7, { ok: true }] });
      client.onCall('whoAreYou', (greeting) => 'a browser answering ' + greeting);
      const answer = await client.call('askBack', 'hello');
      const stream = await client.createStream();
      const status = await stream.publish('up');
      stream.sendMedia({ typeId: 9, timestamp: 0, payload: new Uint8Array([0x17, 0x00, 1, 2, 3]) });
      stream.sendMedia({ typeId: 8, timestamp: 20, payload: new Uint8Array([0xaf, 0x01, 4, 5]) });
      return { answer, code: status.code };
    })()`)) as { answer: string; code: string };
    t.deepEqual(connectArgs, ['from the page', 7, { ok: true }]);
    t.is(result.answer, 'a browser answering hello');
    t.is(result.code, 'NetStream.Publish.Start');
    for (let i = 0; i < 100 && published.length < 2; i++) await new Promise((resolve) => setTimeout(resolve, 20));
    t.deepEqual(published, [
      { typeId: 9, timestamp: 0, payload: [0x17, 0x00, 1, 2, 3] },
      { typeId: 8, timestamp: 20, payload: [0xaf, 0x01, 4, 5] },
    ]);
  } finally {
    await browser.close();
    await web.close();
    await server.close();
  }
});
