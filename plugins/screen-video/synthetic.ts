/**
 * Deterministic screen-like pictures for the specs and the benchmark: what screen
 * sharing looks like to this codec. A static desktop (gradient), a window with a
 * title bar and borders, a text area where a few "characters" are typed each frame,
 * a clock that changes now and then, a small noisy patch (so losslessness is really
 * tested), and a box that moves every frame. BGR24, top row first.
 */

/** A cheap integer hash, so "random" pixels are the same on every run. */
function hash(a: number, b: number, c: number): number {
  let h = Math.imul(a ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(b + 0x632be5ab, 0xc2b2ae35) ^ Math.imul(c + 0x27d4eb2f, 0x165667b1);
  h ^= h >>> 15;
  h = Math.imul(h, 0x2c1b3c6d);
  h ^= h >>> 12;
  return h >>> 0;
}

function fill(data: Uint8Array, width: number, x0: number, y0: number, w: number, h: number, b: number, g: number, r: number): void {
  const height = data.length / (width * 3);
  for (let y = Math.max(0, y0); y < Math.min(height, y0 + h); y++) {
    for (let x = Math.max(0, x0); x < Math.min(width, x0 + w); x++) {
      const at = (y * width + x) * 3;
      data[at] = b;
      data[at + 1] = g;
      data[at + 2] = r;
    }
  }
}

/** One glyph-like 6×8 cell: a fixed pseudo-random bit pattern per character code. */
function glyph(data: Uint8Array, width: number, x0: number, y0: number, code: number): void {
  for (let y = 1; y < 7; y++) {
    for (let x = 0; x < 5; x++) {
      if ((hash(code, x, y) & 3) === 0) fill(data, width, x0 + x, y0 + y, 1, 1, 30, 30, 30);
    }
  }
}

/** Frame `index` of a `width`×`height` screen recording (any size from 16×16). */
export function screenFrame(width: number, height: number, index: number): Uint8Array {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const at = (y * width + x) * 3;
      data[at] = 120 + ((y * 100) / height) | 0;
      data[at + 1] = 60 + ((x * 80) / width) | 0;
      data[at + 2] = 40 + (((x + y) * 60) / (width + height)) | 0;
    }
  }
  // The window: border, title bar, white client area.
  const wx = Math.floor(width / 10);
  const wy = Math.floor(height / 10);
  const ww = Math.floor((width * 7) / 10);
  const wh = Math.floor((height * 7) / 10);
  fill(data, width, wx - 1, wy - 1, ww + 2, wh + 2, 90, 90, 90);
  fill(data, width, wx, wy, ww, 12, 160, 100, 40);
  fill(data, width, wx, wy + 12, ww, wh - 12, 250, 250, 250);
  // Typed text: the whole text so far, 2 characters a frame, wrapping at the window edge.
  const perLine = Math.max(1, Math.floor((ww - 8) / 6));
  const lines = Math.max(1, Math.floor((wh - 20) / 9));
  const typed = (index + 20) * 2;
  const first = Math.max(0, Math.floor(typed / perLine) - lines + 1) * perLine;
  for (let c = first; c < typed; c++) {
    const line = Math.floor((c - first) / perLine);
    glyph(data, width, wx + 4 + (c % perLine) * 6, wy + 16 + line * 9, hash(c, 7, 7) % 96);
  }
  // A clock in the title bar, changing every 10 frames.
  const tick = Math.floor(index / 10);
  for (let i = 0; i < 4; i++) glyph(data, width, wx + ww - 30 + i * 6, wy + 2, hash(tick, i, 1) % 10);
  // A noisy patch (a photo thumbnail, say): incompressible, and static.
  const px = Math.floor(width / 20);
  const py = height - Math.floor(height / 5);
  const side = Math.max(4, Math.floor(Math.min(width, height) / 10));
  for (let y = py; y < Math.min(height, py + side); y++) {
    for (let x = px; x < Math.min(width, px + side); x++) {
      const v = hash(x, y, 3);
      const at = (y * width + x) * 3;
      data[at] = v & 0xff;
      data[at + 1] = (v >>> 8) & 0xff;
      data[at + 2] = (v >>> 16) & 0xff;
    }
  }
  // The moving box: across the screen and back, down a little each pass.
  const box = Math.max(6, Math.floor(Math.min(width, height) / 8));
  const span = Math.max(1, width - box);
  const pos = (index * 7) % (2 * span);
  const bx = pos < span ? pos : 2 * span - pos;
  const by = Math.floor(height / 2) + ((index * 3) % Math.max(1, Math.floor(height / 3)));
  fill(data, width, bx, by, box, box, 20, 40 + (index % 200), 220);
  fill(data, width, bx + 2, by + 2, box - 4, 2, 255, 255, 255);
  return data;
}

/** The same picture as RGBA (alpha varying, to prove the encoder ignores it). */
export function toRgba(bgr: Uint8Array): Uint8Array {
  const pixels = bgr.length / 3;
  const out = new Uint8Array(pixels * 4);
  for (let i = 0; i < pixels; i++) {
    out[i * 4] = bgr[i * 3 + 2]!;
    out[i * 4 + 1] = bgr[i * 3 + 1]!;
    out[i * 4 + 2] = bgr[i * 3]!;
    out[i * 4 + 3] = (i * 37) & 0xff;
  }
  return out;
}
