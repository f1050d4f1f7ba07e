/**
 * The Screen Video decoder. Synchronous zlib: decoding is for tests, checks and
 * thumbnails, and a frame is only a few hundred small inflates.
 *
 * Every block of a packet is inflated and checked before any is placed, so a
 * malformed packet leaves the decoder's picture as it was. The returned frame is a
 * copy: what the caller does with it cannot disturb the next inter frame.
 */
import { inflateSync } from 'node:zlib';
import { Frame, VideoDecoder } from '../../lib/plugins/contract';
import { BlockRect, FLV_CODEC_ID, Grid, HEADER_BYTES, INTER_FRAME, KEY_FRAME, blockRect, makeGrid, placeBlock } from './blocks';

/** FLV frame types: 3 is a disposable inter frame (coded the same way), 5 a video info frame (no picture). */
const DISPOSABLE_INTER_FRAME = 3;
const INFO_FRAME = 5;

export class ScreenVideoDecodeError extends Error {
  override readonly name = 'ScreenVideoDecodeError';
}

interface Picture {
  readonly width: number;
  readonly height: number;
  readonly data: Buffer;
}

export class ScreenVideoDecoder implements VideoDecoder {
  readonly codec = 'screen-video';
  private picture: Picture | undefined;

  async decode(data: Buffer): Promise<Frame | undefined> {
    return this.decodeSync(data);
  }

  decodeSync(data: Buffer): Frame | undefined {
    if (data.length < 1) throw new ScreenVideoDecodeError('screen-video: empty video tag');
    const frameType = data[0]! >> 4;
    const codecId = data[0]! & 0x0f;
    if (codecId !== FLV_CODEC_ID) throw new ScreenVideoDecodeError(`screen-video: codec id ${codecId} is not Screen Video (3)`);
    if (frameType === INFO_FRAME) return undefined;
    if (frameType !== KEY_FRAME && frameType !== INTER_FRAME && frameType !== DISPOSABLE_INTER_FRAME) {
      throw new ScreenVideoDecodeError(`screen-video: frame type ${frameType} is not a key or inter frame`);
    }
    const keyFrame = frameType === KEY_FRAME;
    if (data.length < HEADER_BYTES) throw new ScreenVideoDecodeError(`screen-video: packet of ${data.length} bytes is shorter than its header`);
    const widthField = data.readUInt16BE(1);
    const heightField = data.readUInt16BE(3);
    const grid = makeGrid(widthField & 0xfff, heightField & 0xfff, ((widthField >> 12) + 1) * 16, ((heightField >> 12) + 1) * 16);
    if (grid.width === 0 || grid.height === 0) throw new ScreenVideoDecodeError(`screen-video: picture size ${grid.width}x${grid.height}`);

    const previous = this.picture;
    if (!keyFrame) {
      if (!previous) throw new ScreenVideoDecodeError('screen-video: inter frame before any key frame');
      if (previous.width !== grid.width || previous.height !== grid.height) {
        throw new ScreenVideoDecodeError(`screen-video: ${grid.width}x${grid.height} inter frame after a ${previous.width}x${previous.height} picture`);
      }
    }
    const blocks = decodeBlocks(data, grid, keyFrame);
    const picture = keyFrame ? Buffer.allocUnsafe(grid.width * grid.height * 3) : previous!.data;
    for (const { rect, pixels } of blocks) placeBlock(picture, grid, rect, pixels);
    this.picture = { width: grid.width, height: grid.height, data: picture };
    return { width: grid.width, height: grid.height, format: 'bgr24', data: Buffer.from(picture) };
  }

  async close(): Promise<void> {
    this.picture = undefined;
  }
}

/** The coded blocks of a packet, inflated and checked; a key frame's cover the whole picture. */
function decodeBlocks(data: Buffer, grid: Grid, keyFrame: boolean): Array<{ rect: BlockRect; pixels: Buffer }> {
  const blocks: Array<{ rect: BlockRect; pixels: Buffer }> = [];
  let at = HEADER_BYTES;
  const count = grid.columns * grid.rows;
  for (let index = 0; index < count; index++) {
    if (at + 2 > data.length) throw new ScreenVideoDecodeError(`screen-video: packet ends before block ${index} of ${count}`);
    const size = data.readUInt16BE(at);
    at += 2;
    if (size === 0) {
      if (keyFrame) throw new ScreenVideoDecodeError(`screen-video: key frame leaves block ${index} out`);
      continue;
    }
    if (at + size > data.length) throw new ScreenVideoDecodeError(`screen-video: block ${index} of ${size} bytes runs past the end of the packet`);
    const rect = blockRect(grid, index);
    const expected = rect.width * rect.height * 3;
    let pixels: Buffer;
    try {
      // The output bound stops a small block from inflating into something huge.
      pixels = inflateSync(data.subarray(at, at + size), { maxOutputLength: expected + 1 });
    } catch (error) {
      throw new ScreenVideoDecodeError(`screen-video: block ${index} does not inflate: ${error instanceof Error ? error.message : String(error)}`);
    }
    if (pixels.length !== expected) {
      throw new ScreenVideoDecodeError(`screen-video: block ${index} inflates to ${pixels.length} bytes, not ${expected} (${rect.width}x${rect.height} BGR)`);
    }
    blocks.push({ rect, pixels });
    at += size;
  }
  if (at !== data.length) throw new ScreenVideoDecodeError(`screen-video: ${data.length - at} bytes after the last block`);
  return blocks;
}
