import test from 'ava';
import { decodeControl, encodeControl, ControlMessage, PeerBandwidthLimit } from '../../lib/protocol/control';
import { ProtocolError } from '../../lib/protocol/errors';
import { MessageType } from '../../lib/protocol/message';

const hex = (text: string): Buffer => Buffer.from(text.replace(/\s+/g, ''), 'hex');

const vectors: Array<[ControlMessage, number, string]> = [
  [{ kind: 'setChunkSize', size: 4096 }, MessageType.SetChunkSize, '00001000'],
  [{ kind: 'abort', chunkStreamId: 6 }, MessageType.Abort, '00000006'],
  [{ kind: 'acknowledgement', sequenceNumber: 503526 }, MessageType.Acknowledgement, '0007AEE6'],
  [{ kind: 'windowAcknowledgementSize', size: 5_000_000 }, MessageType.WindowAcknowledgementSize, '004C4B40'],
  [{ kind: 'setPeerBandwidth', size: 5_000_000, limit: PeerBandwidthLimit.Dynamic }, MessageType.SetPeerBandwidth, '004C4B40 02'],
  [{ kind: 'streamBegin', streamId: 1 }, MessageType.UserControl, '0000 00000001'],
  [{ kind: 'streamEof', streamId: 1 }, MessageType.UserControl, '0001 00000001'],
  [{ kind: 'streamDry', streamId: 1 }, MessageType.UserControl, '0002 00000001'],
  [{ kind: 'setBufferLength', streamId: 1, milliseconds: 3000 }, MessageType.UserControl, '0003 00000001 00000BB8'],
  [{ kind: 'streamIsRecorded', streamId: 1 }, MessageType.UserControl, '0004 00000001'],
  [{ kind: 'pingRequest', timestamp: 0xdeadbeef }, MessageType.UserControl, '0006 DEADBEEF'],
  [{ kind: 'pingResponse', timestamp: 0xdeadbeef }, MessageType.UserControl, '0007 DEADBEEF'],
];

for (const [control, typeId, body] of vectors) {
  test(`${control.kind} encodes on chunk stream 2, message stream 0, byte for byte, and decodes back`, (t) => {
    const message = encodeControl(control);
    t.is(message.chunkStreamId, 2);
    t.is(message.streamId, 0);
    t.is(message.typeId, typeId);
    t.deepEqual(message.payload, hex(body));
    t.deepEqual(decodeControl(message.typeId, message.payload), control);
  });
}

test('passes unknown user control events up with their data', (t) => {
  t.deepEqual(decodeControl(MessageType.UserControl, hex('001A 0102')), { kind: 'userControl', event: 0x1a, data: hex('0102') });
});

test('rejects control messages shorter than their body', (t) => {
  for (const [typeId, body] of [[1, '0000'], [3, '00'], [5, ''], [6, '00000001'], [4, '00'], [4, '0006 0001'], [4, '0003 00000001']] as const) {
    const error = t.throws(() => decodeControl(typeId, hex(body)), { instanceOf: ProtocolError });
    t.is(error?.code, 'ERR_CONTROL_MESSAGE', `type ${typeId} body ${body}`);
  }
});

test('rejects a peer bandwidth limit type other than 0, 1 or 2', (t) => {
  const error = t.throws(() => decodeControl(MessageType.SetPeerBandwidth, hex('00001000 03')), { instanceOf: ProtocolError });
  t.is(error?.code, 'ERR_CONTROL_MESSAGE');
});

test('refuses to encode a chunk size outside 1..0x7FFFFFFF', (t) => {
  for (const size of [0, 0x80000000]) {
    const error = t.throws(() => encodeControl({ kind: 'setChunkSize', size }), { instanceOf: ProtocolError });
    t.is(error?.code, 'ERR_CHUNK_SIZE');
  }
});
