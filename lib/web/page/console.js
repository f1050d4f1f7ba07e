'use strict';
// The console: draws the machine (laid out by the server), and applies the inspector's
// msgpack frames (first everything, then only changes) to the tables and the chart.
(function () {
  const rows = new Map();
  let streams = [];
  let selected = null;
  let socket = null;
  let player = null;
  const $ = (id) => document.getElementById(id);
  const text = (value) => (value === null || value === undefined ? '' : String(value));
  const cell = (value) => { const td = document.createElement('td'); td.textContent = text(value); return td; };
  const uptime = (ms) => { const s = Math.floor(ms / 1000); return s < 60 ? `${s} s` : `${Math.floor(s / 60)} min ${s % 60} s`; };

  let lastCounts = {};
  // Every machine the server runs: the connection machine in the main chart, the others beside it.
  fetch('/api/machines').then((r) => r.json()).then(({ machines }) => Promise.all(machines.map((m, i) =>
    fetch(`/api/machines/${encodeURIComponent(m.id)}.svg`).then((r) => r.text()).then((svg) => {
      if (i === 0) { $('chart').innerHTML = svg; return; }
      const figure = document.createElement('figure');
      figure.innerHTML = `<figcaption>${m.id}: the parent of the connection actors</figcaption>${svg}`;
      $('other-charts').appendChild(figure);
    })))).then(() => { renderCounts(lastCounts); render(); });

  function renderCounts(counts) {
    lastCounts = counts;
    // The sessions actor parents every connection actor: its count is theirs summed.
    counts = Object.assign({ sessions: Object.values(counts).reduce((a, b) => a + b, 0) }, counts);
    for (const node of document.querySelectorAll('[data-count]')) {
      const n = counts[node.getAttribute('data-count')] || 0;
      node.textContent = String(n);
      node.parentNode.classList.toggle('active', n > 0);
    }
  }
  function highlight() {
    if (replaying && !selected) return;
    const row = selected && rows.get(selected);
    for (const g of document.querySelectorAll('g.state')) g.classList.toggle('highlight', !!row && g.getAttribute('data-state') === row.state);
  }
  function renderConnections() {
    const body = $('connections').tBodies[0];
    body.textContent = '';
    for (const row of [...rows.values()].sort((a, b) => Number(a.id) - Number(b.id))) {
      const tr = document.createElement('tr');
      tr.dataset.id = row.id;
      tr.dataset.state = row.state;
      if (row.id === selected) tr.className = 'selected';
      for (const v of [row.id, row.address, row.app, row.streams.join(', '), row.state, uptime(row.uptimeMs), row.kbitIn, row.kbitOut]) tr.appendChild(cell(v));
      const kick = document.createElement('button');
      kick.textContent = 'kick';
      kick.className = 'kick';
      kick.onclick = (event) => { event.stopPropagation(); fetch(`/api/connections/${encodeURIComponent(row.id)}`, { method: 'DELETE' }); };
      const td = document.createElement('td'); td.appendChild(kick); tr.appendChild(td);
      tr.onclick = () => select(row.id);
      body.appendChild(tr);
    }
    $('connection-count').textContent = String(rows.size);
  }
  function spark(values) {
    const max = Math.max(1, ...values);
    const points = values.map((v, i) => `${i * 2},${20 - (18 * v) / max}`).join(' ');
    return `<svg class="spark" width="120" height="20"><polyline fill="none" stroke="#4a6fa5" points="${points}"/></svg>`;
  }
  function renderStreams() {
    const body = $('streams').tBodies[0];
    body.textContent = '';
    for (const s of streams) {
      const tr = document.createElement('tr');
      tr.dataset.stream = `${s.app}/${s.name}`;
      const size = s.width ? `${s.width}x${s.height}` : '';
      for (const v of [`${s.app}/${s.name}`, s.publisher, [s.videoCodec, s.audioCodec].filter(Boolean).join(' + '), size, s.frameRate && s.frameRate.toFixed(1), s.bitrate && Math.round(s.bitrate / 1000), s.players]) tr.appendChild(cell(v));
      const graph = document.createElement('td');
      graph.innerHTML = spark(s.bitrateHistory);
      tr.appendChild(graph);
      tr.onclick = () => preview(s.app, s.name);
      body.appendChild(tr);
    }
  }
  function render() { renderConnections(); highlight(); }
  function select(id) {
    selected = id;
    replaying = null;
    $('replay').hidden = true;
    $('selected').textContent = id ? `of connection ${id}` : '';
    if (socket && socket.readyState === 1) socket.send(msgpackr.pack({ type: 'select', id }));
    render();
  }
  function renderHistory(entries) {
    const list = $('history');
    list.textContent = '';
    for (const e of entries || []) {
      const li = document.createElement('li');
      const time = new Date(e.at).toISOString().slice(11, 23);
      li.className = e.kind;
      li.textContent = e.kind === 'state' ? `${time} ${e.from} → ${e.to} (${e.event})`
        : e.kind === 'command' ? `${time} ${e.direction === 'in' ? '←' : '→'} ${e.name} #${e.transactionId} ${JSON.stringify(e.args)}`
        : `${time} error: ${e.message}`;
      list.appendChild(li);
    }
  }
  function preview(app, name) {
    if (player) { player.destroy(); player = null; }
    if (!window.mpegts || !mpegts.isSupported()) return;
    const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
    player = mpegts.createPlayer({ type: 'flv', isLive: true, url: `${scheme}://${location.host}/${app}/${name}.flv` });
    player.attachMediaElement($('preview'));
    player.load();
    const started = player.play();
    if (started && started.catch) started.catch(() => {});
  }
  function connect() {
    const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
    socket = new WebSocket(`${scheme}://${location.host}/api/inspect`);
    socket.binaryType = 'arraybuffer';
    socket.onopen = () => { $('status').textContent = 'live'; if (selected) select(selected); };
    socket.onclose = () => { $('status').textContent = 'disconnected, retrying…'; setTimeout(connect, 1000); };
    socket.onmessage = (message) => {
      const frame = msgpackr.unpack(new Uint8Array(message.data));
      if (frame.type === 'hello') { rows.clear(); for (const r of frame.rows) rows.set(r.id, r); }
      if (frame.type === 'delta') { for (const r of frame.rows) rows.set(r.id, r); for (const id of frame.removed) rows.delete(id); }
      if (frame.type === 'history') return renderHistory(frame.entries);
      if (frame.counts) renderCounts(frame.counts);
      if (frame.streams) { streams = frame.streams; renderStreams(); }
      if (frame.rows) render();
      window.rxrtmpConsole = { rows: rows.size, counts: frame.counts || (window.rxrtmpConsole && window.rxrtmpConsole.counts) };
    };
  }
  // The flight recorder: recordings listed, downloaded as msgpack, replayed on the chart with a timeline.
  let replaying = null;
  function loadRecordings() {
    fetch('/api/recordings').then((r) => r.json()).then((body) => {
      $('recorded-apps').textContent = body.apps.length ? `recording: ${body.apps.join(', ')}` : '';
      const tbody = $('recordings').tBodies[0];
      tbody.textContent = '';
      for (const r of body.recordings) {
        const tr = document.createElement('tr');
        tr.dataset.recording = r.id;
        for (const v of [r.id, r.connection.id, r.connection.app, r.events]) tr.appendChild(cell(v));
        const td = document.createElement('td');
        td.innerHTML = `<a href="/api/recordings/${encodeURIComponent(r.id)}" download>download</a> <button class="replay">replay</button>`;
        td.querySelector('button').onclick = () => replay(r.id);
        tr.appendChild(td);
        tbody.appendChild(tr);
      }
    });
  }
  function replay(id) {
    fetch(`/api/recordings/${encodeURIComponent(id)}.json`).then((r) => r.json()).then((recording) => {
      replaying = recording;
      const scrub = $('replay-scrub');
      scrub.max = String(recording.events.length);
      scrub.value = '0';
      $('replay').hidden = false;
      showReplay();
    });
  }
  function showReplay() {
    if (!replaying) return;
    const at = Number($('replay-scrub').value);
    const events = replaying.events.slice(0, at);
    let state = replaying.start.state;
    for (const e of events) if (e.kind === 'event') state = e.state;
    $('replay-position').textContent = `${at}/${replaying.events.length} · ${state}`;
    $('replay-position').dataset.state = state;
    for (const g of document.querySelectorAll('g.state')) g.classList.toggle('highlight', g.getAttribute('data-state') === state);
    const list = $('replay-events');
    list.textContent = '';
    for (const e of events.slice(-30)) {
      const li = document.createElement('li');
      li.textContent = e.kind === 'event' ? `+${e.t} ms ${e.event.type} → ${e.state}` : e.kind === 'command' ? `+${e.t} ms ${e.direction === 'in' ? '←' : '→'} ${e.name}` : e.kind === 'media' ? `+${e.t} ms media ${e.bytesIn} B in, ${e.bytesOut} B out` : `+${e.t} ms ${e.message}`;
      list.appendChild(li);
    }
  }
  $('replay-scrub').oninput = showReplay;
  $('recordings-refresh').onclick = loadRecordings;
  $('record-app').onsubmit = (event) => {
    event.preventDefault();
    const app = $('record-app-name').value.trim();
    if (app) fetch(`/api/recorder/apps/${encodeURIComponent(app)}`, { method: 'PUT' }).then(loadRecordings);
  };
  loadRecordings();
  connect();
})();
