// @ts-check
/**
 * Deflate worker for the Screen Video encoder's pool (see pool.ts).
 *
 * Plain JavaScript on purpose: a worker thread does not inherit ts-node's require
 * hook, so a .ts worker would need `-r ts-node/register` under ts-node and ava and
 * a different file once compiled. This file runs as is everywhere.
 *
 * The worker reads the encoder's reference picture in place (a SharedArrayBuffer,
 * top row first, BGR24 or RGBA), cuts out its blocks and compresses them, so the
 * thousands of row copies a frame needs stay off the main thread too. The block
 * geometry repeats blocks.ts (`blockRect`, `extractBlock`); the spec "the worker
 * pool and the in-thread path produce identical bytes" holds the two together.
 *
 * Message in:  { id, frame: SharedArrayBuffer, format: 'bgr24' | 'rgba', width, height,
 *                blockWidth, blockHeight, blocks: number[] (wire order indices), level }
 * Message out: { id, output: ArrayBuffer (transferred), sizes: number[] } or { id, error }.
 */
'use strict';
const { parentPort } = require('node:worker_threads');
const { deflateSync } = require('node:zlib');

if (!parentPort) throw new Error('deflate-worker.js runs only as a worker thread');
const port = parentPort;

/** One block's bottom-up BGR rows; kept between messages, grown when blocks get larger. */
let scratch = new Uint8Array(64 * 64 * 3);

/**
 * @param {{id: number, frame: SharedArrayBuffer, format: string, width: number, height: number,
 *          blockWidth: number, blockHeight: number, blocks: number[], level: number}} task
 */
function compress(task) {
  const { width, height, blockWidth, blockHeight } = task;
  const source = new Uint8Array(task.frame);
  const bpp = task.format === 'rgba' ? 4 : 3;
  const stride = width * bpp;
  const columns = Math.ceil(width / blockWidth);
  if (scratch.length < blockWidth * blockHeight * 3) scratch = new Uint8Array(blockWidth * blockHeight * 3);
  /** @type {Buffer[]} */
  const parts = [];
  for (const index of task.blocks) {
    const column = index % columns;
    const x = column * blockWidth;
    const fromBottom = ((index - column) / columns) * blockHeight;
    const w = Math.min(blockWidth, width - x);
    const h = Math.min(blockHeight, height - fromBottom);
    let at = 0;
    for (let k = 0; k < h; k++) {
      let from = (height - 1 - fromBottom - k) * stride + x * bpp;
      if (bpp === 3) {
        scratch.set(source.subarray(from, from + w * 3), at);
        at += w * 3;
        continue;
      }
      for (const end = from + w * 4; from < end; from += 4, at += 3) {
        scratch[at] = source[from + 2];
        scratch[at + 1] = source[from + 1];
        scratch[at + 2] = source[from];
      }
    }
    parts.push(deflateSync(scratch.subarray(0, at), { level: task.level }));
  }
  return parts;
}

port.on('message', (/** @type {Parameters<typeof compress>[0]} */ task) => {
  try {
    const parts = compress(task);
    // A fresh (never pooled) ArrayBuffer, so transferring it moves only our bytes.
    const output = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
    let to = 0;
    for (const part of parts) {
      output.set(part, to);
      to += part.length;
    }
    port.postMessage({ id: task.id, output: output.buffer, sizes: parts.map((p) => p.length) }, [output.buffer]);
  } catch (error) {
    port.postMessage({ id: task.id, error: error instanceof Error ? error.message : String(error) });
  }
});
