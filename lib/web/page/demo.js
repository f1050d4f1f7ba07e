'use strict';
// The demo page: RTMP over WebSocket from the browser. Plays the server-rendered scene on a
// canvas, and turns drags into moveCamera calls, timing each call's answer and the first
// frame that shows its effect (the first stamped after the scene clock the answer gives).
(function () {
  const $ = (id) => document.getElementById(id);
  const params = new URLSearchParams(location.search);
  const codec = params.get('codec') === 'h264' ? 'h264' : 'screen-video';
  const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
  const stats = { rtts: [], effects: [], frames: 0, calls: 0, errors: [], paused: false, connected: false };
  window.demo = stats;
  const pending = [];

  const percentile = (values, p) => {
    if (!values.length) return '';
    const sorted = values.slice().sort((a, b) => a - b);
    return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))].toFixed(1);
  };
  function show(id, values) {
    const cells = $(id).children;
    cells[1].textContent = values.length ? values[values.length - 1].toFixed(1) : '';
    cells[2].textContent = percentile(values, 0.5);
    cells[3].textContent = percentile(values, 0.95);
    cells[4].textContent = String(values.length);
  }

  const video = new rxrtmp.CanvasVideo($('scene'), {
    onFrame(timestamp) {
      stats.frames++;
      $('frames').textContent = String(stats.frames);
      const now = performance.now();
      while (pending.length && pending[0].sceneTime !== null && timestamp > pending[0].sceneTime) {
        stats.effects.push(now - pending.shift().sentAt);
        show('effect', stats.effects);
      }
    },
    onError(error) { stats.errors.push(error.message); },
  });

  async function start() {
    $('codec').textContent = `(${codec === 'h264' ? 'H.264 through WebCodecs' : 'Screen Video decoded in the page'})`;
    if (codec === 'h264' && !rxrtmp.CanvasVideo.hasWebCodecs) throw new Error('this browser has no WebCodecs VideoDecoder');
    const client = await rxrtmp.RtmpClient.connect(`${scheme}://${location.host}/rtmp/demo`);
    stats.connected = true;
    $('status').textContent = 'connected over WebSocket';
    client.closed.then(() => { stats.connected = false; $('status').textContent = `closed: ${client.closeReason || ''}`; });
    const stream = await client.createStream();
    stream.media$.subscribe((message) => video.push(message));
    await stream.play(codec === 'h264' ? 'scene?codec=h264' : 'scene');

    $('echo').onclick = async () => { $('echo-answer').textContent = JSON.stringify(await client.call('echo', 'hello', 42)); };
    $('pause').onclick = async () => {
      stats.paused = !stats.paused;
      $('pause').textContent = stats.paused ? 'resume' : 'pause';
      await stream.pause(stats.paused);
    };
    window.demoClient = client;

    // Drags: moves gathered while a call is out go in the next one, so calls never queue up.
    let dragging = null;
    let owed = { x: 0, y: 0 };
    let inFlight = false;
    const canvas = $('scene');
    const scale = () => canvas.width / canvas.getBoundingClientRect().width;
    function send() {
      if (inFlight || (owed.x === 0 && owed.y === 0)) return;
      // One camera unit moves the cube 10 pixels; the scene's y axis points up.
      const dx = owed.x / 10;
      const dy = -owed.y / 10;
      owed = { x: 0, y: 0 };
      inFlight = true;
      stats.calls++;
      const entry = { sentAt: performance.now(), sceneTime: null };
      client.call('moveCamera', dx, dy).then((answer) => {
        stats.rtts.push(performance.now() - entry.sentAt);
        show('rtt', stats.rtts);
        entry.sceneTime = answer.sceneTime;
        if (answer.sceneTime !== null) pending.push(entry);
      }, (error) => stats.errors.push(error.message)).finally(() => { inFlight = false; send(); });
    }
    canvas.addEventListener('pointerdown', (e) => { dragging = { x: e.clientX, y: e.clientY }; canvas.setPointerCapture(e.pointerId); });
    canvas.addEventListener('pointermove', (e) => {
      if (!dragging) return;
      const s = scale();
      owed.x += (e.clientX - dragging.x) * s;
      owed.y += (e.clientY - dragging.y) * s;
      dragging = { x: e.clientX, y: e.clientY };
      send();
    });
    const stop = () => { dragging = null; };
    canvas.addEventListener('pointerup', stop);
    canvas.addEventListener('pointercancel', stop);
  }
  start().catch((error) => { stats.errors.push(error.message); $('status').textContent = `failed: ${error.message}`; });
})();
