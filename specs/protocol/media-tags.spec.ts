import test from 'ava';
import { parseAudioTag, parseVideoTag } from '../../lib/protocol/media-tags';
import { parseAvcDecoderConfiguration } from '../../lib/protocol/avc';
import { splitAggregate, flvTag, parseFlv, flvHeader } from '../../lib/protocol/flv';
import { ProtocolError } from '../../lib/protocol/errors';
import { chunkBytes, decodeInPieces } from '../helpers/fixtures';

const bytes = (...parts: Array<number | string>): Buffer =>
  Buffer.concat(parts.map((p) => (typeof p === 'number' ? Buffer.of(p) : Buffer.from(p, 'latin1'))));

test('legacy AVC: sequence header, key frame, inter frame and end of sequence', (t) => {
  t.like(parseVideoTag(bytes(0x17, 0, 0, 0, 0, 1)), { codec: 'avc', enhanced: false, isSequenceHeader: true, isKeyFrame: true, dataOffset: 5 });
  t.like(parseVideoTag(bytes(0x17, 1, 0, 0, 0)), { isSequenceHeader: false, isKeyFrame: true });
  t.like(parseVideoTag(bytes(0x27, 1, 0, 0, 0)), { isKeyFrame: false, frameType: 2 });
  t.like(parseVideoTag(bytes(0x17, 2, 0, 0, 0)), { isSequenceEnd: true });
});

test('legacy Screen Video and Sorenson frames carry no packet type', (t) => {
  t.like(parseVideoTag(bytes(0x13, 0x30)), { codec: 'screen-video', isKeyFrame: true, isSequenceHeader: false, dataOffset: 1 });
  t.like(parseVideoTag(bytes(0x22, 0x00)), { codec: 'h263', isKeyFrame: false });
});

test('Enhanced RTMP hvc1 SequenceStart and CodedFrames (with composition time)', (t) => {
  t.like(parseVideoTag(bytes(0x90, 'hvc1', 1)), { codec: 'hvc1', enhanced: true, isSequenceHeader: true, isKeyFrame: true, dataOffset: 5 });
  t.like(parseVideoTag(bytes(0x91, 'hvc1', 0, 0, 0x21, 9)), { codec: 'hvc1', isSequenceHeader: false, isKeyFrame: true, dataOffset: 8 });
  t.like(parseVideoTag(bytes(0xa1, 'hvc1', 0, 0, 0, 9)), { isKeyFrame: false, frameType: 2 });
});

test('Enhanced RTMP av01 CodedFramesX has no composition time; vp09 SequenceEnd', (t) => {
  t.like(parseVideoTag(bytes(0xa3, 'av01', 7)), { codec: 'av01', isKeyFrame: false, dataOffset: 5 });
  t.like(parseVideoTag(bytes(0x92, 'vp09')), { codec: 'vp09', isSequenceEnd: true });
});

test('Enhanced RTMP v2 multitrack video names the first track', (t) => {
  // Key frame, Multitrack; many tracks / CodedFrames; avc1; track 2; 24-bit size; composition time.
  t.like(parseVideoTag(bytes(0x96, 0x11, 'avc1', 2, 0, 0, 4, 0, 0, 0, 9)), { codec: 'avc1', trackId: 2, isKeyFrame: true, dataOffset: 13 });
  t.like(parseVideoTag(bytes(0x96, 0x00, 'av01', 0, 1)), { codec: 'av01', trackId: 0, isSequenceHeader: true, dataOffset: 7 });
});

test('audio: legacy AAC header and raw, MP3, and the Enhanced RTMP v2 ex-header', (t) => {
  t.like(parseAudioTag(bytes(0xaf, 0, 0x12, 0x10)), { codec: 'aac', isSequenceHeader: true, soundRate: 44100, stereo: true });
  t.like(parseAudioTag(bytes(0xaf, 1)), { codec: 'aac', isSequenceHeader: false });
  t.like(parseAudioTag(bytes(0x2e)), { codec: 'mp3', isSequenceHeader: false, soundRate: 44100, stereo: false });
  t.like(parseAudioTag(bytes(0x90, 'mp4a', 1)), { codec: 'mp4a', enhanced: true, isSequenceHeader: true, dataOffset: 5 });
  t.like(parseAudioTag(bytes(0x91, 'Opus', 1)), { codec: 'Opus', isSequenceHeader: false });
  t.like(parseAudioTag(bytes(0x95, 0x00, 'fLaC', 3, 1)), { codec: 'fLaC', trackId: 3, isSequenceHeader: true });
});

test('a truncated enhanced header is a clear error', (t) => {
  const error = t.throws(() => parseVideoTag(bytes(0x90, 'hv')), { instanceOf: ProtocolError });
  t.is(error?.code, 'ERR_MEDIA_TAG');
});

test('the AVC sequence header of the recorded ffmpeg session gives 640x360, Constrained Baseline 3.0', (t) => {
  const video = decodeInPieces(chunkBytes('ffmpeg-publish-h264-aac.c2s')).find((m) => m.typeId === 9)!;
  t.deepEqual(parseAvcDecoderConfiguration(video.payload.subarray(5)), { profile: 66, level: 30, width: 640, height: 360 });
});

test('an aggregate message splits into sub-messages with timestamps relative to the aggregate', (t) => {
  const sub = (type: number, time: number, data: Buffer): Buffer => Buffer.concat(flvTag(type, time, data));
  const body = Buffer.concat([sub(9, 5000, bytes(0x17, 1, 0, 0, 0)), sub(8, 5023, bytes(0xaf, 1, 7)), sub(9, 5040, bytes(0x27, 1, 0, 0, 0))]);
  const parts = splitAggregate({ chunkStreamId: 6, timestamp: 100, typeId: 22, streamId: 1, payload: body });
  t.deepEqual(parts.map((p) => [p.typeId, p.timestamp, p.streamId]), [[9, 100, 1], [8, 123, 1], [9, 140, 1]]);
  t.deepEqual(parts[1]!.payload, bytes(0xaf, 1, 7));
});

test('a broken aggregate is refused', (t) => {
  const error = t.throws(() => splitAggregate({ chunkStreamId: 6, timestamp: 0, typeId: 22, streamId: 1, payload: Buffer.from('0900ffff', 'hex') }), { instanceOf: ProtocolError });
  t.is(error?.code, 'ERR_FLV');
});

test('FLV files: header flags, tags with extended timestamps, and PreviousTagSize checks', (t) => {
  const file = Buffer.concat([flvHeader(true, false), ...flvTag(8, 0x01020304, bytes(0xaf, 1))]);
  t.deepEqual([...file.subarray(0, 13)], [0x46, 0x4c, 0x56, 1, 4, 0, 0, 0, 9, 0, 0, 0, 0]);
  const parsed = parseFlv(file);
  t.like(parsed, { hasAudio: true, hasVideo: false });
  t.is(parsed.tags[0]!.timestamp, 0x01020304);
  file.writeUInt32BE(99, file.length - 4);
  t.throws(() => parseFlv(file), { message: /PreviousTagSize/ });
});
