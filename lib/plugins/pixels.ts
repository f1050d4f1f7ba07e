import { Frame, PixelFormat } from './contract';

/** Converts a frame between RGBA and BGR24 (alpha is dropped, or set opaque). */
export function convertFrame(frame: Frame, format: PixelFormat): Frame {
  if (frame.format === format) return frame;
  const pixels = frame.width * frame.height;
  if (frame.format === 'rgba' && format === 'bgr24') {
    const out = new Uint8Array(pixels * 3);
    for (let i = 0, o = 0; i < pixels * 4; i += 4, o += 3) {
      out[o] = frame.data[i + 2]!;
      out[o + 1] = frame.data[i + 1]!;
      out[o + 2] = frame.data[i]!;
    }
    return { width: frame.width, height: frame.height, format, data: out };
  }
  const out = new Uint8Array(pixels * 4);
  for (let i = 0, o = 0; i < pixels * 3; i += 3, o += 4) {
    out[o] = frame.data[i + 2]!;
    out[o + 1] = frame.data[i + 1]!;
    out[o + 2] = frame.data[i]!;
    out[o + 3] = 255;
  }
  return { width: frame.width, height: frame.height, format, data: out };
}
