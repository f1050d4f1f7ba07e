// node:zlib for the browser build: Screen Video blocks are zlib streams, inflated with fflate.
import { unzlibSync } from 'fflate';

export function inflateSync(data: Uint8Array, options: { maxOutputLength?: number } = {}): Buffer {
  const out = unzlibSync(data);
  if (options.maxOutputLength !== undefined && out.length > options.maxOutputLength) throw new RangeError(`inflates past ${options.maxOutputLength} bytes`);
  return Buffer.from(out.buffer, out.byteOffset, out.length);
}
