/**
 * Protocol-layer throughput: the chunk decoder on a realistic media mix, and AMF0.
 * Prints medians of several rounds; run with `npm run bench:protocol`.
 */
import { ChunkDecoder } from '../lib/protocol/chunk/decoder';
import { ChunkEncoder } from '../lib/protocol/chunk/encoder';
import { MessageType, RtmpMessage } from '../lib/protocol/message';
import { decodeAmf0, encodeAmf0 } from '../lib/protocol/amf/amf0';
import { asEcmaArray, AmfValue } from '../lib/protocol/amf/values';

const ROUNDS = 7;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** About 2.6 Mbit/s worth of stream: 4 KB video at 30 fps and 300-byte AAC at 43 fps, interleaved by time. */
function mediaMix(seconds: number): RtmpMessage[] {
  const messages: RtmpMessage[] = [];
  const video = Buffer.alloc(4096, 0x17);
  const audio = Buffer.alloc(300, 0xaf);
  for (let ms = 0; ms < seconds * 1000; ms++) {
    if (ms % 33 === 0) messages.push({ chunkStreamId: 6, timestamp: ms, typeId: MessageType.Video, streamId: 1, payload: video });
    if (ms % 23 === 0) messages.push({ chunkStreamId: 4, timestamp: ms, typeId: MessageType.Audio, streamId: 1, payload: audio });
  }
  return messages;
}

/** Splits the stream as TCP would hand it over: 64 KB reads. */
function segments(bytes: Buffer, size = 65536): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += size) out.push(bytes.subarray(i, i + size));
  return out;
}

function benchDecoder(chunkSize: number): { mbPerSecond: number; messagesPerSecond: number } {
  const messages = mediaMix(120);
  const encoder = new ChunkEncoder();
  encoder.chunkSize = chunkSize;
  const bytes = Buffer.concat(messages.map((m) => encoder.encode(m)));
  const pieces = segments(bytes);
  const rates: number[] = [];
  let count = 0;
  for (let round = 0; round < ROUNDS; round++) {
    const decoder = new ChunkDecoder(() => count++);
    decoder.chunkSize = chunkSize;
    const start = process.hrtime.bigint();
    for (const piece of pieces) decoder.push(piece);
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    rates.push(bytes.length / seconds);
  }
  const mbPerSecond = median(rates) / 1e6;
  return { mbPerSecond, messagesPerSecond: (mbPerSecond * 1e6 * messages.length) / bytes.length };
}

function benchAmf0(): { encodePerSecond: number; decodePerSecond: number; bytes: number } {
  const values: AmfValue[] = [
    'onStatus',
    0,
    null,
    { level: 'status', code: 'NetStream.Play.Start', description: 'Started playing cam.', details: 'cam', clientid: 'ABCD1234' },
    asEcmaArray({ duration: 0, width: 1280, height: 720, videodatarate: 2500, framerate: 30, videocodecid: 7, audiodatarate: 128, audiosamplerate: 44100, audiosamplesize: 16, stereo: true, audiocodecid: 10, encoder: 'Lavf59.27.100', filesize: 0 }),
  ];
  const encoded = encodeAmf0(values);
  const iterations = 20_000;
  const encodeRates: number[] = [];
  const decodeRates: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    let start = process.hrtime.bigint();
    for (let i = 0; i < iterations; i++) encodeAmf0(values);
    encodeRates.push(iterations / (Number(process.hrtime.bigint() - start) / 1e9));
    start = process.hrtime.bigint();
    for (let i = 0; i < iterations; i++) decodeAmf0(encoded);
    decodeRates.push(iterations / (Number(process.hrtime.bigint() - start) / 1e9));
  }
  return { encodePerSecond: median(encodeRates), decodePerSecond: median(decodeRates), bytes: encoded.length };
}

const results = {
  chunkDecoder128: benchDecoder(128),
  chunkDecoder4096: benchDecoder(4096),
  amf0: benchAmf0(),
};
console.log(`chunk decoder, chunk size  128: ${results.chunkDecoder128.mbPerSecond.toFixed(0)} MB/s (${(results.chunkDecoder128.messagesPerSecond / 1e3).toFixed(0)} k messages/s)`);
console.log(`chunk decoder, chunk size 4096: ${results.chunkDecoder4096.mbPerSecond.toFixed(0)} MB/s (${(results.chunkDecoder4096.messagesPerSecond / 1e3).toFixed(0)} k messages/s)`);
console.log(`AMF0 onStatus + onMetaData (${results.amf0.bytes} bytes): encode ${(results.amf0.encodePerSecond / 1e3).toFixed(0)} k/s, decode ${(results.amf0.decodePerSecond / 1e3).toFixed(0)} k/s`);
console.log(JSON.stringify({ date: new Date().toISOString(), node: process.version, rounds: ROUNDS, ...results }));
