/**
 * Screen Video geometry and the packet header, shared by the encoder and the decoder.
 *
 * A picture is cut into blocks counted from the BOTTOM-LEFT corner: block row 0 is
 * the bottom of the image, and the blocks of the last column and of the top block
 * row are cut short to the image's remainders. Within a block the pixels run
 * bottom-up as B,G,R bytes. Our frames are top row first, so every block copy
 * flips rows; that is done here once for both directions.
 */

/** Largest picture side the 12-bit size fields can carry. */
export const MAX_SIDE = 4095;
/** The 4-bit block size fields count sixteens of pixels: 16..256. */
export const MIN_BLOCK = 16;
export const MAX_BLOCK = 256;
/** A block's compressed size is a u16. */
export const MAX_BLOCK_BYTES = 0xffff;

export const FLV_CODEC_ID = 3;
export const KEY_FRAME = 1;
export const INTER_FRAME = 2;
export const HEADER_BYTES = 5;

export interface Grid {
  readonly width: number;
  readonly height: number;
  readonly blockWidth: number;
  readonly blockHeight: number;
  readonly columns: number;
  readonly rows: number;
}

export interface BlockRect {
  /** Left pixel column. */
  readonly x: number;
  /** Row counted from the bottom of the image where the block starts. */
  readonly fromBottom: number;
  readonly width: number;
  readonly height: number;
}

export function makeGrid(width: number, height: number, blockWidth: number, blockHeight: number): Grid {
  return { width, height, blockWidth, blockHeight, columns: Math.ceil(width / blockWidth), rows: Math.ceil(height / blockHeight) };
}

/** Block `index` in wire order: left to right, then bottom to top. */
export function blockRect(grid: Grid, index: number): BlockRect {
  const column = index % grid.columns;
  const row = (index - column) / grid.columns;
  const x = column * grid.blockWidth;
  const fromBottom = row * grid.blockHeight;
  return { x, fromBottom, width: Math.min(grid.blockWidth, grid.width - x), height: Math.min(grid.blockHeight, grid.height - fromBottom) };
}

/** The first byte of a tag body and the two size fields. */
export function writeHeader(target: Buffer, grid: Grid, keyFrame: boolean): void {
  target[0] = ((keyFrame ? KEY_FRAME : INTER_FRAME) << 4) | FLV_CODEC_ID;
  target.writeUInt16BE(((grid.blockWidth / 16 - 1) << 12) | grid.width, 1);
  target.writeUInt16BE(((grid.blockHeight / 16 - 1) << 12) | grid.height, 3);
}

/**
 * Copies one block of a top-down picture (BGR24 or RGBA) into `target` at `at` as
 * the bottom-up BGR rows the codec compresses; RGBA is converted on the way, so an
 * RGBA frame is only converted where blocks changed. Returns the bytes written.
 */
export function extractBlock(
  source: Uint8Array,
  format: 'bgr24' | 'rgba',
  grid: Grid,
  rect: BlockRect,
  target: Uint8Array,
  at: number,
): number {
  const start = at;
  if (format === 'bgr24') {
    const stride = grid.width * 3;
    const rowBytes = rect.width * 3;
    for (let k = 0; k < rect.height; k++) {
      const from = (grid.height - 1 - rect.fromBottom - k) * stride + rect.x * 3;
      target.set(source.subarray(from, from + rowBytes), at);
      at += rowBytes;
    }
    return at - start;
  }
  const stride = grid.width * 4;
  for (let k = 0; k < rect.height; k++) {
    let from = (grid.height - 1 - rect.fromBottom - k) * stride + rect.x * 4;
    const end = from + rect.width * 4;
    for (; from < end; from += 4, at += 3) {
      target[at] = source[from + 2]!;
      target[at + 1] = source[from + 1]!;
      target[at + 2] = source[from]!;
    }
  }
  return at - start;
}

/** The reverse of `extractBlock` for a BGR24 picture: bottom-up block rows into the top-down picture. */
export function placeBlock(picture: Uint8Array, grid: Grid, rect: BlockRect, pixels: Uint8Array): void {
  const stride = grid.width * 3;
  const rowBytes = rect.width * 3;
  for (let k = 0; k < rect.height; k++) {
    const to = (grid.height - 1 - rect.fromBottom - k) * stride + rect.x * 3;
    picture.set(pixels.subarray(k * rowBytes, (k + 1) * rowBytes), to);
  }
}
