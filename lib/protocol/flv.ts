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

/**
 * Reads the FLV tags in `bytes` from `at` to the end: FLV files and aggregate
 * messages share this layout (11-byte tag header, data, u32 back pointer).
 */
function readTags(bytes: Buffer, at: number, what: string, checkBackPointer: boolean): FlvTag[] {
  const tags: FlvTag[] = [];
  while (at < bytes.length) {
    if (at + 11 > bytes.length) throw new ProtocolError('ERR_FLV', `truncated ${what} header`, at);
    const size = bytes.readUIntBE(at + 1, 3);
    const end = at + 11 + size;
    if (end + 4 > bytes.length) throw new ProtocolError('ERR_FLV', `${what} of ${size} bytes runs past the end`, at);
    if (checkBackPointer && bytes.readUInt32BE(end) !== 11 + size) throw new ProtocolError('ERR_FLV', 'PreviousTagSize does not match the tag', end);
    const timestamp = (bytes.readUIntBE(at + 4, 3) | (bytes[at + 7]! << 24)) >>> 0;
    tags.push({ typeId: bytes[at]!, timestamp, data: bytes.subarray(at + 11, end), offset: at });
    at = end + 4;
  }
  return tags;
}

/** Parses a complete FLV file; checks every PreviousTagSize. */
export function parseFlv(file: Buffer): FlvFile {
  if (file.length < 13 || file.toString('latin1', 0, 3) !== 'FLV') throw new ProtocolError('ERR_FLV', 'not an FLV file', 0);
  const tags = readTags(file, file.readUInt32BE(5) + 4, 'tag', true);
  return { hasAudio: (file[4]! & 4) !== 0, hasVideo: (file[4]! & 1) !== 0, tags };
}

/**
 * Splits an aggregate message (type 22) into its sub-messages. Each keeps the
 * aggregate's chunk and message stream; its timestamp is the aggregate's plus its
 * own offset from the first sub-message. Back pointers are not checked: encoders
 * disagree on them, and nothing depends on them.
 */
export function splitAggregate(message: RtmpMessage): RtmpMessage[] {
  const tags = readTags(message.payload, 0, 'aggregate sub-message', false);
  const first = tags[0]?.timestamp ?? 0;
  return tags.map((tag) => {
    if (tag.typeId !== MessageType.Audio && tag.typeId !== MessageType.Video && tag.typeId !== MessageType.DataAmf0) {
      throw new ProtocolError('ERR_FLV', `aggregate holds a message of type ${tag.typeId}`, tag.offset);
    }
    return {
      chunkStreamId: message.chunkStreamId,
      streamId: message.streamId,
      typeId: tag.typeId,
      timestamp: (message.timestamp + (tag.timestamp - first)) >>> 0,
      payload: tag.data,
    };
  });
}
