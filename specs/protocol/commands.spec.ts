import test from 'ava';
import { decodeCommand, decodeData, encodeCommand, encodeData, metadataFromSetDataFrame } from '../../lib/protocol/commands';
import { ProtocolError } from '../../lib/protocol/errors';
import { MessageType } from '../../lib/protocol/message';
import { NetCommand, parseNetCommand, status, toCommand } from '../../lib/protocol/net-commands';
import { asEcmaArray } from '../../lib/protocol/amf/values';

const hex = (text: string): Buffer => Buffer.from(text.replace(/\s+/g, ''), 'hex');

const connectProperties = { app: 'live', flashVer: 'LNX 9,0,124,2', tcUrl: 'rtmp://h/live', fpad: false, audioCodecs: 4071, videoCodecs: 252, videoFunction: 1, objectEncoding: 0 };

const typed: NetCommand[] = [
  {
    kind: 'connect',
    transactionId: 1,
    properties: { ...connectProperties, swfUrl: undefined, pageUrl: undefined, fourCcList: undefined, objectEncoding: 0, raw: connectProperties },
    args: ['alice', 42.5],
  },
  { kind: 'call', procedure: 'moveCamera', transactionId: 7, commandObject: null, args: [1, -2] },
  { kind: 'close' },
  { kind: 'createStream', transactionId: 2 },
  { kind: 'result', transactionId: 2, commandObject: null, args: [1] },
  { kind: 'error', transactionId: 3, commandObject: null, args: [status('NetConnection.Call.Failed', 'no such method', 'error')] },
  { kind: 'onStatus', info: status('NetStream.Play.Start', 'Started playing cam.') },
  { kind: 'deleteStream', transactionId: 0, streamId: 1 },
  { kind: 'closeStream' },
  { kind: 'play', streamName: 'cam', start: -2, duration: -1, reset: true },
  { kind: 'play2', parameters: { streamName: 'cam2', oldStreamName: 'cam', transition: 'switch', start: 0, len: -1 } },
  { kind: 'publish', streamName: 'cam', publishType: 'record' },
  { kind: 'seek', milliseconds: 1500 },
  { kind: 'pause', pause: true, milliseconds: 1200 },
  { kind: 'receiveAudio', enabled: false },
  { kind: 'receiveVideo', enabled: true },
  { kind: 'releaseStream', transactionId: 2, streamName: 'cam' },
  { kind: 'FCPublish', transactionId: 3, streamName: 'cam' },
  { kind: 'FCUnpublish', transactionId: 5, streamName: 'cam' },
  { kind: 'FCSubscribe', transactionId: 4, streamName: 'cam' },
  { kind: 'getStreamLength', transactionId: 3, streamName: 'cam' },
  { kind: 'checkBandwidth', transactionId: 6 },
];

for (const command of typed) {
  test(`${command.kind} round-trips through AMF0 (type 20) and AMF3 (type 17) command messages`, (t) => {
    for (const encoding of [0, 3] as const) {
      const { typeId, payload } = encodeCommand(toCommand(command), encoding);
      t.is(typeId, encoding === 3 ? MessageType.CommandAmf3 : MessageType.CommandAmf0);
      if (encoding === 3) t.is(payload[0], 0x00, 'type 17 opens with the format byte');
      t.deepEqual(parseNetCommand(decodeCommand(typeId, payload)), command);
    }
  });
}

test('encodes _result for connect exactly as the checklist gives the AMF0 form', (t) => {
  const { payload } = encodeCommand({ name: '_result', transactionId: 1, commandObject: null, args: [] });
  t.deepEqual(payload, hex('02 0007 5F726573756C74  00 3FF0000000000000  05'));
});

test('AMF3 commands carry objects behind the 0x11 switch and names as AMF0', (t) => {
  const { payload } = encodeCommand({ name: 'x', transactionId: 0, commandObject: null, args: [{ a: 1 }] }, 3);
  t.deepEqual(payload, hex('00  02 0001 78  00 0000000000000000  05  11 0A 0B 01 03 61 04 01 01'));
});

test('treats any negative play start as live (ffmpeg sends -2000)', (t) => {
  const play = parseNetCommand({ name: 'play', transactionId: 0, commandObject: null, args: ['cam3', -2000] });
  t.like(play, { kind: 'play', start: -2000, duration: -1, reset: true });
});

test('reads a pause flag sent as a number', (t) => {
  t.like(parseNetCommand({ name: 'pause', transactionId: 0, commandObject: null, args: [0, 10] }), { pause: false, milliseconds: 10 });
});

test('publish without a type is live', (t) => {
  t.like(parseNetCommand({ name: 'publish', transactionId: 0, commandObject: null, args: ['cam'] }), { publishType: 'live' });
});

test('rejects a publish type other than live, record or append', (t) => {
  const error = t.throws(() => parseNetCommand({ name: 'publish', transactionId: 0, commandObject: null, args: ['cam', 'bogus'] }), { instanceOf: ProtocolError });
  t.is(error?.code, 'ERR_COMMAND');
});

test('rejects play without a stream name', (t) => {
  const error = t.throws(() => parseNetCommand({ name: 'play', transactionId: 0, commandObject: null, args: [5] }), { instanceOf: ProtocolError });
  t.regex(error?.message ?? '', /stream name/);
});

test('rejects connect without an app name or with an unknown objectEncoding', (t) => {
  t.throws(() => parseNetCommand({ name: 'connect', transactionId: 1, commandObject: { tcUrl: 'x' }, args: [] }), { message: /app name/ });
  t.throws(() => parseNetCommand({ name: 'connect', transactionId: 1, commandObject: { app: 'a', objectEncoding: 1 }, args: [] }), { message: /objectEncoding/ });
});

test('reads the Enhanced RTMP fourCcList from connect', (t) => {
  const connect = parseNetCommand({ name: 'connect', transactionId: 1, commandObject: { app: 'live', fourCcList: ['hvc1', 'av01', 'vp09'] }, args: [] });
  t.like(connect, { kind: 'connect', properties: { fourCcList: ['hvc1', 'av01', 'vp09'] } });
});

test('rejects a command that does not start with a name', (t) => {
  const error = t.throws(() => decodeCommand(MessageType.CommandAmf0, hex('00 3FF0000000000000')), { instanceOf: ProtocolError });
  t.is(error?.code, 'ERR_COMMAND');
});

test('rejects a command whose transaction id is not a number', (t) => {
  t.throws(() => decodeCommand(MessageType.CommandAmf0, hex('02 0001 78  02 0001 78')), { message: /transaction id/ });
});

test('@setDataFrame("onMetaData", {...}) is stored as onMetaData({...})', (t) => {
  const metadata = asEcmaArray({ width: 1280, height: 720, framerate: 30 });
  const { typeId, payload } = encodeData({ name: '@setDataFrame', values: ['onMetaData', metadata] });
  t.is(typeId, MessageType.DataAmf0);
  const stored = metadataFromSetDataFrame(decodeData(typeId, payload));
  t.deepEqual(stored, { name: 'onMetaData', values: [metadata] });
  t.is(metadataFromSetDataFrame({ name: '|RtmpSampleAccess', values: [true, true] }), undefined);
});

test('data messages round-trip in AMF3 (type 15)', (t) => {
  const { typeId, payload } = encodeData({ name: 'onTextData', values: [{ text: 'hi' }] }, 3);
  t.is(typeId, MessageType.DataAmf3);
  t.deepEqual(decodeData(typeId, payload), { name: 'onTextData', values: [{ text: 'hi' }] });
});

test('deleteStream with a stream name (as GStreamer rtmp2sink sends it) is read as a name', (t) => {
  t.deepEqual(parseNetCommand({ name: 'deleteStream', transactionId: 4, commandObject: null, args: ['gst'] }), {
    kind: 'deleteStream',
    transactionId: 4,
    streamId: undefined,
    streamName: 'gst',
  });
});
