import test from 'ava';
import { decodeCommand, decodeData } from '../../lib/protocol/commands';
import { decodeControl } from '../../lib/protocol/control';
import { MessageType, RtmpMessage } from '../../lib/protocol/message';
import { parseNetCommand } from '../../lib/protocol/net-commands';
import { isEcmaArray } from '../../lib/protocol/amf/values';
import { chunkBytes, decodeInPieces } from '../helpers/fixtures';

const commandNames = (messages: RtmpMessage[]): string[] =>
  messages.filter((m) => m.typeId === MessageType.CommandAmf0).map((m) => decodeCommand(m.typeId, m.payload).name);

const publishH264 = decodeInPieces(chunkBytes('ffmpeg-publish-h264-aac.c2s'));

test('ffmpeg publish: commands arrive in order', (t) => {
  t.deepEqual(commandNames(publishH264), ['connect', 'releaseStream', 'FCPublish', 'createStream', 'publish', 'FCUnpublish', 'deleteStream']);
  const publish = publishH264.find((m) => m.typeId === MessageType.CommandAmf0 && decodeCommand(m.typeId, m.payload).name === 'publish')!;
  t.deepEqual(parseNetCommand(decodeCommand(publish.typeId, publish.payload)), { kind: 'publish', streamName: 'cam1', publishType: 'live' });
  t.is(publish.streamId, 1);
});

test('ffmpeg publish: the connect command object is typed', (t) => {
  const connect = parseNetCommand(decodeCommand(publishH264[0]!.typeId, publishH264[0]!.payload));
  if (connect.kind !== 'connect') return t.fail(`first command is ${connect.kind}`);
  t.is(connect.properties.app, 'live');
  t.is(connect.properties.tcUrl, 'rtmp://127.0.0.1:19400/live');
  t.is(connect.properties.objectEncoding, 0);
  t.regex(connect.properties.flashVer ?? '', /FMLE|LNX/);
});

test('ffmpeg publish: Set Chunk Size follows connect and is applied', (t) => {
  const first = publishH264[1]!;
  t.is(first.typeId, MessageType.SetChunkSize);
  const control = decodeControl(first.typeId, first.payload);
  t.is(control.kind, 'setChunkSize');
  t.true(control.kind === 'setChunkSize' && control.size > 128);
});

test('ffmpeg publish: metadata, AVC sequence header, 120 frames and end of sequence, AAC header and 174 frames', (t) => {
  const data = publishH264.filter((m) => m.typeId === MessageType.DataAmf0).map((m) => decodeData(m.typeId, m.payload));
  t.is(data.length, 1);
  t.is(data[0]!.name, '@setDataFrame');
  t.is(data[0]!.values[0], 'onMetaData');
  const metadata = data[0]!.values[1];
  t.true(isEcmaArray(metadata));
  t.like(metadata as object, { width: 640, height: 360, videocodecid: 7, audiocodecid: 10 });

  const video = publishH264.filter((m) => m.typeId === MessageType.Video);
  const audio = publishH264.filter((m) => m.typeId === MessageType.Audio);
  t.is(video.length, 122);
  t.is(video.filter((m) => m.payload[1] === 1).length, 120);
  t.deepEqual([...video[121]!.payload.subarray(0, 2)], [0x17, 0x02]);
  t.is(audio.length, 175);
  t.deepEqual([...video[0]!.payload.subarray(0, 2)], [0x17, 0x00]);
  t.deepEqual([...audio[0]!.payload.subarray(0, 2)], [0xaf, 0x00]);
  t.is(video.filter((m) => m.payload[0] === 0x17 && m.payload[1] === 1).length, 4);
  for (const m of [...video, ...audio]) t.is(m.streamId, 1);
});

test('ffmpeg publish: video timestamps rise by 33 or 34 ms', (t) => {
  const frames = publishH264.filter((m) => m.typeId === MessageType.Video && m.payload[1] === 1);
  const steps = new Set(frames.slice(1).map((m, i) => m.timestamp - frames[i]!.timestamp));
  t.deepEqual([...steps].sort(), [33, 34]);
});

test('ffmpeg publish: split at every position in the first 4 KB, the messages are the same', (t) => {
  const bytes = chunkBytes('ffmpeg-publish-h264-aac.c2s').subarray(0, 4096);
  const whole = decodeInPieces(bytes);
  for (let split = 1; split < bytes.length; split++) {
    const pieces = decodeInPieces(bytes, [split, bytes.length]);
    if (pieces.length !== whole.length) return t.fail(`split at ${split} gave ${pieces.length} messages`);
    t.deepEqual(pieces, whole);
  }
});

test('ffmpeg publish: fed one byte at a time, the whole session decodes the same', (t) => {
  const bytes = chunkBytes('ffmpeg-publish-h264-aac.c2s');
  t.deepEqual(decodeInPieces(bytes, [1]), publishH264);
});

test('rtmpdump connect: user arguments after the command object, split by a type-3 chunk', (t) => {
  const bytes = chunkBytes('rtmpdump-connect-args.c2s');
  t.true(bytes.subarray(12, 12 + 128 + 1).includes(0xc3), 'the connect message continues in a type-3 chunk');
  const messages = decodeInPieces(bytes);
  const connect = parseNetCommand(decodeCommand(messages[0]!.typeId, messages[0]!.payload));
  if (connect.kind !== 'connect') return t.fail();
  t.deepEqual(connect.args, ['alice', 42.5, true, { room: 'lobby' }]);
  t.deepEqual(commandNames(messages), ['connect', 'createStream', 'FCSubscribe', 'play', 'deleteStream']);
});

test('ffmpeg play: getStreamLength, then play with start -2000', (t) => {
  const messages = decodeInPieces(chunkBytes('ffmpeg-play-live.c2s'));
  t.true(commandNames(messages).includes('getStreamLength'));
  const play = messages.find((m) => m.typeId === MessageType.CommandAmf0 && decodeCommand(m.typeId, m.payload).name === 'play')!;
  t.like(parseNetCommand(decodeCommand(play.typeId, play.payload)), { kind: 'play', streamName: 'cam3', start: -2000 });
  const bufferLength = messages
    .filter((m) => m.typeId === MessageType.UserControl)
    .map((m) => decodeControl(m.typeId, m.payload))
    .find((c) => c.kind === 'setBufferLength');
  t.like(bufferLength, { kind: 'setBufferLength', milliseconds: 3000 });
});

test('nginx relay to rtmpdump: control, commands and media reassemble in 64 KB and odd-sized pieces alike', (t) => {
  const bytes = chunkBytes('rtmpdump-play-live.s2c');
  const whole = decodeInPieces(bytes);
  t.deepEqual(decodeInPieces(bytes, [65536, 1, 7, 4093]), whole);
  const kinds = whole.filter((m) => m.typeId <= 6).map((m) => decodeControl(m.typeId, m.payload).kind);
  t.true(kinds.includes('windowAcknowledgementSize'));
  t.true(kinds.includes('setPeerBandwidth'));
  t.true(kinds.includes('streamBegin'));
  const statuses = whole
    .filter((m) => m.typeId === MessageType.CommandAmf0)
    .map((m) => parseNetCommand(decodeCommand(m.typeId, m.payload)))
    .flatMap((c) => (c.kind === 'onStatus' ? [c.info.code] : []));
  t.true(statuses.includes('NetStream.Play.Start'));
  const video = whole.filter((m) => m.typeId === MessageType.Video);
  t.true(video.length > 100);
  t.true(video.every((m, i) => i === 0 || m.timestamp >= video[i - 1]!.timestamp));
});

test('rtmpdump (librtmp) acknowledges every tenth of the window the server announced', (t) => {
  const serverMessages = decodeInPieces(chunkBytes('rtmpdump-play-live.s2c'));
  const window = serverMessages.map((m) => (m.typeId <= 6 ? decodeControl(m.typeId, m.payload) : undefined)).find((c) => c?.kind === 'windowAcknowledgementSize');
  if (window?.kind !== 'windowAcknowledgementSize') return t.fail();
  const acks = decodeInPieces(chunkBytes('rtmpdump-play-live.c2s'))
    .filter((m) => m.typeId === MessageType.Acknowledgement)
    .map((m) => decodeControl(m.typeId, m.payload))
    .flatMap((c) => (c.kind === 'acknowledgement' ? [c.sequenceNumber] : []));
  t.true(acks.length > 0);
  const total = chunkBytes('rtmpdump-play-live.s2c').length + 3073;
  for (const [i, ack] of acks.entries()) {
    t.true(ack <= total, `ack ${ack} beyond the ${total} bytes sent`);
    const previous = i === 0 ? 0 : acks[i - 1]!;
    t.true(ack - previous >= window.size / 10 && ack - previous < window.size / 5, `ack ${ack} after ${previous} does not follow window/10`);
  }
});
