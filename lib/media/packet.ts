import { MessageType } from '../protocol/message';
import { parseAudioTag, parseVideoTag } from '../protocol/media-tags';
import { BodyCache } from '../pipeline/writer';

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

/** Classifies a message's payload; media that cannot be parsed is still relayed, as inter data. */
export function makePacket(typeId: MediaTypeId, time: number, payload: Buffer): MediaPacket {
  let keyFrame = false;
  let sequenceHeader = false;
  let codec = 'data';
  let track = 'data';
  try {
    if (typeId === MessageType.Video) {
      const info = parseVideoTag(payload);
      keyFrame = info.isKeyFrame && !info.isSequenceHeader;
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
