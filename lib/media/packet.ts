import { MessageType } from '../protocol/message';
import { parseAudioTag, parseVideoTag } from '../protocol/media-tags';
import { BodyCache } from '../pipeline/bodies';

export type MediaTypeId = MessageType.Audio | MessageType.Video | MessageType.DataAmf0;

/**
 * One media message on a live stream's timeline. The payload is shared by every
 * player; so are its chunk bodies, built once per (chunk size, chunk stream).
 */
export interface MediaPacket {
  readonly typeId: MediaTypeId;
  /** Milliseconds on the stream's own timeline: monotonic per track, never wrapped. */
  readonly time: number;
  readonly payload: Buffer;
  readonly keyFrame: boolean;
  /** A decoder configuration (AVC/HEVC/AV1/AAC sequence header) that players need first. */
  readonly sequenceHeader: boolean;
  /** Codec and track, so that each track's sequence header is kept separately. */
  readonly track: string;
  readonly codec: string;
  /** Shared chunk bodies by chunk size and chunk stream (see the writer). */
  readonly bodies: BodyCache;
}

/** Bytes of a larger buffer a payload may keep alive before it is copied out of it. */
const MAX_BORROWED = 4096;

/**
 * The payload, or a copy of it when it is a view into a much larger buffer (the chunk
 * decoder hands out a message that arrived whole as a view into the socket read). A
 * packet lives seconds in the GOP cache, long enough to reach V8's old generation,
 * where only a full collection frees what it holds; a view would keep the whole read
 * there, audio frames and the video beside them alike, and double what a stream
 * holds between collections.
 */
export function ownBytes(payload: Buffer): Buffer {
  const backing = payload.buffer.byteLength;
  // A slice of Node's shared allocation pool is already as compact as a copy would be.
  if (backing - payload.length <= MAX_BORROWED || backing === Buffer.poolSize) return payload;
  const copy = Buffer.allocUnsafe(payload.length);
  payload.copy(copy);
  return copy;
}

/** Classifies a message's payload; media that cannot be parsed is still relayed, as inter data. */
export function makePacket(typeId: MediaTypeId, time: number, received: Buffer): MediaPacket {
  const payload = ownBytes(received);
  let keyFrame = false;
  let sequenceHeader = false;
  let codec = 'data';
  let track = 'data';
  try {
    if (typeId === MessageType.Video) {
      const info = parseVideoTag(payload);
      // An end-of-sequence marker (ffmpeg ends every publish with one) carries the key flag but no picture: not a GOP start.
      keyFrame = info.isKeyFrame && !info.isSequenceHeader && !info.isSequenceEnd;
      sequenceHeader = info.isSequenceHeader;
      codec = info.codec;
      track = `video:${info.trackId}`;
    } else if (typeId === MessageType.Audio) {
      const info = parseAudioTag(payload);
      sequenceHeader = info.isSequenceHeader;
      codec = info.codec;
      track = `audio:${info.trackId}`;
    }
  } catch {
    // An empty or odd tag is passed through unchanged; a relay does not judge codec data.
  }
  return { typeId, time, payload, keyFrame, sequenceHeader, track, codec, bodies: new BodyCache() };
}
