/**
 * Preloaded (`node -r`) into the Node.js servers of the benchmark, rxrtmp and
 * node-media-server alike. On SIGUSR2 it writes the process's memory figures to
 * $TMPDIR/rxrtmp-bench-memory-PID.json, so that RSS can be split into V8's young
 * generation (a process-wide allocation area that V8 grows under any sustained
 * allocation, up to 3 × --max-semi-space-size) and the rest; with --expose-gc it
 * also reports the heap right after a full collection. It also counts the
 * process's active resources (sockets, timers, requests) by kind. Plain JavaScript so
 * that it loads into any Node.js program unchanged.
 */
'use strict';
const { writeFileSync, renameSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');
const v8 = require('node:v8');

/** What keeps the event loop alive, counted by kind (TCPWrap, Timeout, FSReqCallback…): the soak's "no handle left behind". */
function activeResources() {
  const counts = {};
  for (const kind of process.getActiveResourcesInfo()) counts[kind] = (counts[kind] || 0) + 1;
  return counts;
}

process.on('SIGUSR2', () => {
  const spaces = v8.getHeapSpaceStatistics();
  const young = spaces
    .filter((space) => space.space_name === 'new_space' || space.space_name === 'new_large_object_space')
    .reduce((sum, space) => sum + space.space_size, 0);
  const usage = process.memoryUsage();
  const path = join(tmpdir(), `rxrtmp-bench-memory-${process.pid}.json`);
  const report = { at: Date.now(), rss: usage.rss, heapUsed: usage.heapUsed, heapTotal: usage.heapTotal, external: usage.external, youngGeneration: young, resources: activeResources() };
  // With --expose-gc, also what is live: RSS and heap right after a full collection.
  if (typeof global.gc === 'function') {
    global.gc();
    const after = process.memoryUsage();
    report.rssAfterGc = after.rss;
    report.heapUsedAfterGc = after.heapUsed;
  }
  // Written whole and renamed, so a reader never sees half a file.
  writeFileSync(`${path}.tmp`, JSON.stringify(report));
  renameSync(`${path}.tmp`, path);
});
