import test from 'ava';
import { ChildProcess, spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { createWebServer } from '../../lib/web/web-server';
import { liveServer } from '../helpers/live';

// Screenshots are the tests' output, not the repository's.
const SHOTS = join(tmpdir(), 'rxrtmp-console-shots');

test('in headless Chromium: real clients appear with their state, the chart counts them, a kick closes one, a published stream previews', async (t) => {
  mkdirSync(SHOTS, { recursive: true });
  const { server, registry, url } = await liveServer();
  const web = createWebServer(server, { live: registry, inspectIntervalMs: 100, sampleMs: 500 });
  const { port } = await web.listen(0, '127.0.0.1');
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu', '--autoplay-policy=no-user-gesture-required'] });
  const children: ChildProcess[] = [];
  try {
    const page = await browser.newPage();
    await page.goto(`http://127.0.0.1:${port}/`);
    await page.waitForSelector('svg.machine [data-count="connected"]');
    // The server's other machine, the sessions actor, is drawn beside it.
    await page.waitForSelector('#other-charts svg[data-machine="sessions"] [data-count="sessions"]');
    t.truthy(await page.$('#chart g.any-state'), 'the root events start from one "any state" box');
    await page.fill('#record-app-name', 'live');
    await page.click('#record-app button');
    await page.waitForFunction(`document.querySelector('#recorded-apps').textContent.includes('live')`);
    // rtmpdump waits playing a name nobody publishes yet: a connection in `streaming`.
    const rtmpdump = spawn('rtmpdump', ['-r', `${url}/later`, '-v', '-o', '/dev/null'], { stdio: 'ignore' });
    children.push(rtmpdump);
    const appearedFrom = Date.now();
    await page.waitForSelector('#connections tbody tr[data-state="streaming"]', { timeout: 5000 });
    t.log(`rtmpdump row in the page ${Date.now() - appearedFrom} ms after spawn`);
    t.is(await page.textContent('[data-count="streaming"]'), '1');
    t.is(await page.textContent('[data-count="sessions"]'), '1', 'the sessions actor parents the one connection actor');
    await page.click('#connections tbody tr[data-state="streaming"]');
    await page.waitForFunction(`document.querySelector('g.state.highlight')?.getAttribute('data-state') === 'streaming'`);
    await page.waitForFunction(`[...document.querySelectorAll('#history li')].some((li) => li.textContent.includes('play'))`);
    await page.screenshot({ path: join(SHOTS, 'connection-selected.png') });
    const exited = new Promise<number>((resolve) => rtmpdump.once('exit', () => resolve(Date.now())));
    const kickedAt = Date.now();
    await page.click('#connections tbody tr[data-state="streaming"] button.kick');
    t.true((await exited) - kickedAt < 2000, 'rtmpdump closed within 2 s of the kick');
    await page.waitForFunction(`document.querySelectorAll('#connections tbody tr').length === 0`, undefined, { timeout: 5000 });

    // The kicked session, replayed from its recording: scrubbing to the end shows it closed, on the way it streamed.
    await page.click('#recordings-refresh');
    await page.waitForSelector('#recordings tbody tr button.replay');
    await page.click('#recordings tbody tr button.replay');
    await page.waitForSelector('#replay:not([hidden])');
    const steps = Number(await page.getAttribute('#replay-scrub', 'max'));
    const seen: string[] = [];
    for (let at = 0; at <= steps; at++) {
      await page.fill('#replay-scrub', String(at));
      seen.push((await page.getAttribute('#replay-position', 'data-state')) ?? '');
    }
    t.is(seen[0], 'handshake');
    t.is(seen[seen.length - 1], 'closed');
    t.true(seen.includes('streaming'), seen.join(' '));
    t.is(await page.getAttribute('g.state.highlight', 'data-state'), 'closed');
    await page.screenshot({ path: join(SHOTS, 'replay.png') });

    const ffmpeg = spawn('ffmpeg', ['-loglevel', 'error', '-re', '-f', 'lavfi', '-i', 'testsrc=size=320x240:rate=25', '-f', 'lavfi', '-i', 'sine=frequency=440', '-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', '-g', '25', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-t', '40', '-f', 'flv', `${url}/cam`], { stdio: 'ignore' });
    children.push(ffmpeg);
    await page.waitForSelector('#streams tbody tr[data-stream="live/cam"]', { timeout: 15000 });
    await page.waitForFunction(`/320x240/.test(document.querySelector('#streams tbody tr[data-stream="live/cam"]')?.textContent ?? '')`, undefined, { timeout: 10000 });
    await page.click('#streams tbody tr[data-stream="live/cam"]');
    await page.waitForFunction(`document.querySelector('#preview').currentTime > 1`, undefined, { timeout: 20000 });
    const currentTime = `document.querySelector('#preview').currentTime`;
    const first = (await page.evaluate(currentTime)) as number;
    await page.waitForTimeout(1500);
    const later = (await page.evaluate(currentTime)) as number;
    t.true(later > first + 0.5, `preview currentTime ${first} → ${later}`);
    await page.screenshot({ path: join(SHOTS, 'preview.png') });

    // A client that leaves on its own (ffmpeg stopped) leaves the table and the chart.
    t.is(await page.textContent('#connections tbody tr[data-state="streaming"] td:nth-child(3)'), 'live');
    const leftFrom = Date.now();
    ffmpeg.kill('SIGTERM');
    await page.waitForFunction(`document.querySelectorAll('#connections tbody tr').length === 0 && document.querySelector('[data-count="streaming"]').textContent === '0'`, undefined, { timeout: 5000 });
    t.log(`ffmpeg's row left the page ${Date.now() - leftFrom} ms after SIGTERM`);
    t.is(await page.textContent('[data-count="sessions"]'), '0');
    t.log(`screenshots in ${SHOTS}`);
  } finally {
    for (const child of children) child.kill('SIGKILL');
    await browser.close();
    await web.close();
    await server.close();
  }
});
