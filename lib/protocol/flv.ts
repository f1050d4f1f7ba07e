import { ProtocolError } from './errors';
import { MessageType, RtmpMessage } from './message';

/** FLV file header plus PreviousTagSize0: `FLV`, version 1, flags, header size 9, then u32 0. */
export function flvHeader(hasAudio: boolean, hasVideo: boolean): Buffer {
  const header = Buffer.alloc(13);
  header.write('FLV', 0, 'latin1');
  header[3] = 1;
  header[4] = (hasAudio ? 4 : 0) | (hasVideo ? 1 : 0);
  header.writeUInt32BE(9, 5);
  return header;
}

/** The 11-byte tag header for a tag of `typeId` (8, 9, 18) with `size` bytes of data. */
export function flvTagHeader(typeId: number, timestamp: number, size: number): Buffer {
  const header = Buffer.alloc(11);
  header[0] = typeId;
  header.writeUIntBE(size, 1, 3);
  header.writeUIntBE(timestamp & 0xffffff, 4, 3);
  header[7] = (timestamp >>> 24) & 0xff;
  // Stream id: always 0 in files.
  return header;
}

/** A whole tag as buffers to write: header, data (not copied), PreviousTagSize. */
export function flvTag(typeId: number, timestamp: number, data: Buffer): Buffer[] {
  const previousTagSize = Buffer.allocUnsafe(4);
  previousTagSize.writeUInt32BE(11 + data.length, 0);
  return [flvTagHeader(typeId, timestamp, data.length), data, previousTagSize];
}

export interface FlvTag {
  typeId: number;
  timestamp: number;
  data: Buffer;
  /** Offset of the tag header in the file. */
  offset: number;
}

export interface FlvFile {
  hasAudio: boolean;
  hasVideo: boolean;
  tags: FlvTag[];
}

/** Parses a complete FLV file; checks every PreviousTagSize. */
export function parseFlv(file: Buffer): FlvFile {
  if (file.length < 13 || file.toString('latin1', 0, 3) !== 'FLV') throw new ProtocolError('ERR_FLV', 'not an FLV file', 0);
  const headerSize = file.readUInt32BE(5);
  const tags: FlvTag[] = [];
  let at = headerSize + 4;
  while (at < file.length) {
    if (at + 11 > file.length) throw new ProtocolError('ERR_FLV', 'truncated tag header', at);
    const typeId = file[at]!;
    const size = file.readUIntBE(at + 1, 3);
    const timestamp = (file.readUIntBE(at + 4, 3) | (file[at + 7]! << 24)) >>> 0;
    const end = at + 11 + size;
    if (end + 4 > file.length) throw new ProtocolError('ERR_FLV', `tag of ${size} bytes runs past the end`, at);
    if (file.readUInt32BE(end) !== 11 + size) throw new ProtocolError('ERR_FLV', 'PreviousTagSize does not match the tag', end);
    tags.push({ typeId, timestamp, data: file.subarray(at + 11, end), offset: at });
    at = end + 4;
  }
  return { hasAudio: (file[4]! & 4) !== 0, hasVideo: (file[4]! & 1) !== 0, tags };
}

/**
 * Splits an aggregate message (type 22) into its sub-messages. Each keeps the
 * aggregate's chunk and message stream; its timestamp is the aggregate's plus its
 * own offset from the first sub-message.
 */
export function splitAggregate(message: RtmpMessage): RtmpMessage[] {
  const body = message.payload;
  const out: RtmpMessage[] = [];
  let at = 0;
  let first: number | undefined;
  while (at < body.length) {
    if (at + 11 > body.length) throw new ProtocolError('ERR_FLV', 'truncated aggregate sub-message header', at);
    const typeId = body[at]!;
    const size = body.readUIntBE(at + 1, 3);
    const timestamp = (body.readUIntBE(at + 4, 3) | (body[at + 7]! << 24)) >>> 0;
    const end = at + 11 + size;
    if (end + 4 > body.length) throw new ProtocolError('ERR_FLV', `aggregate sub-message of ${size} bytes runs past the end`, at);
    if (typeId !== MessageType.Audio && typeId !== MessageType.Video && typeId !== MessageType.DataAmf0) {
      throw new ProtocolError('ERR_FLV', `aggregate holds a message of type ${typeId}`, at);
    }
    first ??= timestamp;
    out.push({
      chunkStreamId: message.chunkStreamId,
      streamId: message.streamId,
      typeId,
      timestamp: (message.timestamp + (timestamp - first)) >>> 0,
      payload: body.subarray(at + 11, end),
    });
    at = end + 4;
  }
  return out;
}
