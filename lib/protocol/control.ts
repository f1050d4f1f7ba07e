import { ProtocolError } from './errors';
import { ChunkStreamIds, MessageType, RtmpMessage } from './message';
import { readChunkSize } from './chunk/decoder';

export enum UserControlEvent {
  StreamBegin = 0,
  StreamEof = 1,
  StreamDry = 2,
  SetBufferLength = 3,
  StreamIsRecorded = 4,
  PingRequest = 6,
  PingResponse = 7,
}

export enum PeerBandwidthLimit {
  Hard = 0,
  Soft = 1,
  Dynamic = 2,
}

/** Protocol control and user control messages as typed values. */
export type ControlMessage =
  | { kind: 'setChunkSize'; size: number }
  | { kind: 'abort'; chunkStreamId: number }
  | { kind: 'acknowledgement'; sequenceNumber: number }
  | { kind: 'windowAcknowledgementSize'; size: number }
  | { kind: 'setPeerBandwidth'; size: number; limit: PeerBandwidthLimit }
  | { kind: 'streamBegin'; streamId: number }
  | { kind: 'streamEof'; streamId: number }
  | { kind: 'streamDry'; streamId: number }
  | { kind: 'setBufferLength'; streamId: number; milliseconds: number }
  | { kind: 'streamIsRecorded'; streamId: number }
  | { kind: 'pingRequest'; timestamp: number }
  | { kind: 'pingResponse'; timestamp: number }
  | { kind: 'userControl'; event: number; data: Buffer };

function u32(...values: number[]): Buffer {
  const out = Buffer.allocUnsafe(values.length * 4);
  values.forEach((value, i) => out.writeUInt32BE(value >>> 0, i * 4));
  return out;
}

function userControl(event: number, data: Buffer): Buffer {
  const out = Buffer.allocUnsafe(2 + data.length);
  out.writeUInt16BE(event, 0);
  data.copy(out, 2);
  return out;
}

function body(control: ControlMessage): { typeId: MessageType; payload: Buffer } {
  switch (control.kind) {
    case 'setChunkSize':
      if (control.size < 1 || control.size > 0x7fffffff) {
        throw new ProtocolError('ERR_CHUNK_SIZE', `chunk size ${control.size} is outside 1..0x7FFFFFFF`);
      }
      return { typeId: MessageType.SetChunkSize, payload: u32(control.size) };
    case 'abort':
      return { typeId: MessageType.Abort, payload: u32(control.chunkStreamId) };
    case 'acknowledgement':
      return { typeId: MessageType.Acknowledgement, payload: u32(control.sequenceNumber) };
    case 'windowAcknowledgementSize':
      return { typeId: MessageType.WindowAcknowledgementSize, payload: u32(control.size) };
    case 'setPeerBandwidth':
      return { typeId: MessageType.SetPeerBandwidth, payload: Buffer.concat([u32(control.size), Buffer.of(control.limit)]) };
    case 'streamBegin':
      return { typeId: MessageType.UserControl, payload: userControl(UserControlEvent.StreamBegin, u32(control.streamId)) };
    case 'streamEof':
      return { typeId: MessageType.UserControl, payload: userControl(UserControlEvent.StreamEof, u32(control.streamId)) };
    case 'streamDry':
      return { typeId: MessageType.UserControl, payload: userControl(UserControlEvent.StreamDry, u32(control.streamId)) };
    case 'setBufferLength':
      return { typeId: MessageType.UserControl, payload: userControl(UserControlEvent.SetBufferLength, u32(control.streamId, control.milliseconds)) };
    case 'streamIsRecorded':
      return { typeId: MessageType.UserControl, payload: userControl(UserControlEvent.StreamIsRecorded, u32(control.streamId)) };
    case 'pingRequest':
      return { typeId: MessageType.UserControl, payload: userControl(UserControlEvent.PingRequest, u32(control.timestamp)) };
    case 'pingResponse':
      return { typeId: MessageType.UserControl, payload: userControl(UserControlEvent.PingResponse, u32(control.timestamp)) };
    case 'userControl':
      return { typeId: MessageType.UserControl, payload: userControl(control.event, control.data) };
  }
}

/** A control message ready for the chunk encoder: chunk stream 2, message stream 0. */
export function encodeControl(control: ControlMessage, timestamp = 0): RtmpMessage {
  const { typeId, payload } = body(control);
  return { chunkStreamId: ChunkStreamIds.protocolControl, timestamp, typeId, streamId: 0, payload };
}

function need(payload: Buffer, size: number, what: string): void {
  if (payload.length < size) {
    throw new ProtocolError('ERR_CONTROL_MESSAGE', `${what} has ${payload.length} bytes; it needs ${size}`);
  }
}

function decodeUserControl(payload: Buffer): ControlMessage {
  need(payload, 2, 'User Control');
  const event = payload.readUInt16BE(0);
  const data = payload.subarray(2);
  const streamEvent = (kind: 'streamBegin' | 'streamEof' | 'streamDry' | 'streamIsRecorded'): ControlMessage => {
    need(payload, 6, `User Control ${kind}`);
    return { kind, streamId: data.readUInt32BE(0) };
  };
  switch (event) {
    case UserControlEvent.StreamBegin:
      return streamEvent('streamBegin');
    case UserControlEvent.StreamEof:
      return streamEvent('streamEof');
    case UserControlEvent.StreamDry:
      return streamEvent('streamDry');
    case UserControlEvent.StreamIsRecorded:
      return streamEvent('streamIsRecorded');
    case UserControlEvent.SetBufferLength:
      need(payload, 10, 'User Control setBufferLength');
      return { kind: 'setBufferLength', streamId: data.readUInt32BE(0), milliseconds: data.readUInt32BE(4) };
    case UserControlEvent.PingRequest:
      need(payload, 6, 'User Control pingRequest');
      return { kind: 'pingRequest', timestamp: data.readUInt32BE(0) };
    case UserControlEvent.PingResponse:
      need(payload, 6, 'User Control pingResponse');
      return { kind: 'pingResponse', timestamp: data.readUInt32BE(0) };
    default:
      // Unknown events (Flash's SWF verification among them) are passed up, not refused.
      return { kind: 'userControl', event, data };
  }
}

/** Decodes a protocol control (1, 2, 3, 5, 6) or user control (4) message body. */
export function decodeControl(typeId: number, payload: Buffer): ControlMessage {
  switch (typeId) {
    case MessageType.SetChunkSize:
      return { kind: 'setChunkSize', size: readChunkSize(payload) };
    case MessageType.Abort:
      need(payload, 4, 'Abort');
      return { kind: 'abort', chunkStreamId: payload.readUInt32BE(0) };
    case MessageType.Acknowledgement:
      need(payload, 4, 'Acknowledgement');
      return { kind: 'acknowledgement', sequenceNumber: payload.readUInt32BE(0) };
    case MessageType.WindowAcknowledgementSize:
      need(payload, 4, 'Window Acknowledgement Size');
      return { kind: 'windowAcknowledgementSize', size: payload.readUInt32BE(0) };
    case MessageType.SetPeerBandwidth: {
      need(payload, 5, 'Set Peer Bandwidth');
      const limit = payload[4]!;
      if (limit > PeerBandwidthLimit.Dynamic) {
        throw new ProtocolError('ERR_CONTROL_MESSAGE', `Set Peer Bandwidth limit type ${limit} is not 0, 1 or 2`);
      }
      return { kind: 'setPeerBandwidth', size: payload.readUInt32BE(0), limit };
    }
    case MessageType.UserControl:
      return decodeUserControl(payload);
    default:
      throw new ProtocolError('ERR_CONTROL_MESSAGE', `message type ${typeId} is not a control message`);
  }
}
