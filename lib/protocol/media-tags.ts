import { ProtocolError } from './errors';

/** FLV video CodecID (legacy, 4 bits). */
export enum VideoCodecId {
  SorensonH263 = 2,
  ScreenVideo = 3,
  Vp6 = 4,
  Vp6Alpha = 5,
  ScreenVideo2 = 6,
  Avc = 7,
}

/** FLV SoundFormat (4 bits); 9 opens the Enhanced RTMP v2 audio ex-header. */
export enum SoundFormat {
  Mp3 = 2,
  Aac = 10,
  Speex = 11,
  ExHeader = 9,
}

export enum VideoFrameType {
  Key = 1,
  Inter = 2,
  Disposable = 3,
  GeneratedKey = 4,
  Command = 5,
}

/** Enhanced RTMP video packet types. */
export enum VideoPacketType {
  SequenceStart = 0,
  CodedFrames = 1,
  SequenceEnd = 2,
  CodedFramesX = 3,
  Metadata = 4,
  Mpeg2TsSequenceStart = 5,
  Multitrack = 6,
  ModEx = 7,
}

export enum AudioPacketType {
  SequenceStart = 0,
  CodedFrames = 1,
  SequenceEnd = 2,
  MultichannelConfig = 4,
  Multitrack = 5,
  ModEx = 7,
}

/** What a relay needs to know of a video message: never the picture, only its role. */
export interface VideoTagInfo {
  /** Legacy codec name (`avc`, `screen-video`, …) or the Enhanced RTMP FourCC (`hvc1`, `av01`, `vp09`, `avc1`). */
  codec: string;
  enhanced: boolean;
  frameType: VideoFrameType;
  isKeyFrame: boolean;
  /** A decoder configuration (AVC/HEVC/AV1 sequence header) that players need before any frame. */
  isSequenceHeader: boolean;
  isSequenceEnd: boolean;
  /** Enhanced RTMP track id (0 when single-track). */
  trackId: number;
  /** Offset of the codec payload (after the tag header), e.g. the AVCDecoderConfigurationRecord. */
  dataOffset: number;
}

export interface AudioTagInfo {
  codec: string;
  enhanced: boolean;
  isSequenceHeader: boolean;
  trackId: number;
  dataOffset: number;
  /** Legacy header fields; undefined for ex-header audio. */
  soundRate?: number;
  soundSize?: number;
  stereo?: boolean;
}

const legacyVideoCodecs: Record<number, string> = {
  2: 'h263',
  3: 'screen-video',
  4: 'vp6',
  5: 'vp6-alpha',
  6: 'screen-video-2',
  7: 'avc',
  12: 'hevc',
};

const legacyAudioCodecs: Record<number, string> = {
  0: 'pcm',
  1: 'adpcm',
  2: 'mp3',
  3: 'pcm-le',
  4: 'nellymoser-16k',
  5: 'nellymoser-8k',
  6: 'nellymoser',
  7: 'g711a',
  8: 'g711u',
  10: 'aac',
  11: 'speex',
  14: 'mp3-8k',
  15: 'device-specific',
};

const fourCc = (payload: Buffer, at: number): string => payload.toString('latin1', at, at + 4);

function need(payload: Buffer, size: number, what: string): void {
  if (payload.length < size) throw new ProtocolError('ERR_MEDIA_TAG', `${what} of ${payload.length} bytes is too short for its header`);
}

/** Reads a video message's tag header, legacy or Enhanced RTMP (v1 and v2, multitrack). */
export function parseVideoTag(payload: Buffer): VideoTagInfo {
  need(payload, 1, 'video message');
  const first = payload[0]!;
  if ((first & 0x80) === 0) {
    const frameType = (first >> 4) as VideoFrameType;
    const codecId = first & 0x0f;
    const avcLike = codecId === VideoCodecId.Avc || codecId === 12;
    const packetType = avcLike && payload.length > 1 ? payload[1]! : -1;
    return {
      codec: legacyVideoCodecs[codecId] ?? `codec-${codecId}`,
      enhanced: false,
      frameType,
      isKeyFrame: frameType === VideoFrameType.Key || frameType === VideoFrameType.GeneratedKey,
      isSequenceHeader: avcLike && packetType === 0,
      isSequenceEnd: avcLike && packetType === 2,
      trackId: 0,
      dataOffset: avcLike ? 5 : 1,
    };
  }
  const frameType = ((first >> 4) & 0x07) as VideoFrameType;
  let packetType = first & 0x0f;
  let at = 1;
  let trackId = 0;
  let codec: string;
  if (packetType === VideoPacketType.Multitrack) {
    // [multitrack type:4][packet type:4], then (for the first track) FourCC, track id, and a
    // 24-bit size when more than one track follows. Only the first track is described here.
    need(payload, 7, 'multitrack video message');
    const multitrackType = payload[1]! >> 4;
    packetType = payload[1]! & 0x0f;
    codec = fourCc(payload, 2);
    trackId = payload[6]!;
    at = 7 + (multitrackType === 0 ? 0 : 3);
  } else {
    need(payload, 5, 'enhanced video message');
    codec = fourCc(payload, 1);
    at = 5;
  }
  const hasCompositionTime = packetType === VideoPacketType.CodedFrames && (codec === 'hvc1' || codec === 'avc1');
  return {
    codec,
    enhanced: true,
    frameType,
    isKeyFrame: frameType === VideoFrameType.Key || frameType === VideoFrameType.GeneratedKey,
    isSequenceHeader: packetType === VideoPacketType.SequenceStart || packetType === VideoPacketType.Mpeg2TsSequenceStart,
    isSequenceEnd: packetType === VideoPacketType.SequenceEnd,
    trackId,
    dataOffset: at + (hasCompositionTime ? 3 : 0),
  };
}

export function parseAudioTag(payload: Buffer): AudioTagInfo {
  need(payload, 1, 'audio message');
  const first = payload[0]!;
  const format = first >> 4;
  if (format !== SoundFormat.ExHeader) {
    const isAac = format === SoundFormat.Aac;
    return {
      codec: legacyAudioCodecs[format] ?? `codec-${format}`,
      enhanced: false,
      isSequenceHeader: isAac && payload.length > 1 && payload[1] === 0,
      trackId: 0,
      dataOffset: isAac ? 2 : 1,
      soundRate: [5512, 11025, 22050, 44100][(first >> 2) & 0x03],
      soundSize: first & 0x02 ? 16 : 8,
      stereo: (first & 0x01) === 1,
    };
  }
  let packetType = first & 0x0f;
  let trackId = 0;
  if (packetType === AudioPacketType.Multitrack) {
    need(payload, 7, 'multitrack audio message');
    const multitrackType = payload[1]! >> 4;
    packetType = payload[1]! & 0x0f;
    const codec = fourCc(payload, 2);
    trackId = payload[6]!;
    return { codec, enhanced: true, isSequenceHeader: packetType === AudioPacketType.SequenceStart, trackId, dataOffset: 7 + (multitrackType === 0 ? 0 : 3) };
  }
  need(payload, 5, 'enhanced audio message');
  return { codec: fourCc(payload, 1), enhanced: true, isSequenceHeader: packetType === AudioPacketType.SequenceStart, trackId, dataOffset: 5 };
}
