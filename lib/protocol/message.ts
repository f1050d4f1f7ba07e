/** RTMP message type ids (the chunk header's type field). */
export enum MessageType {
  SetChunkSize = 1,
  Abort = 2,
  Acknowledgement = 3,
  UserControl = 4,
  WindowAcknowledgementSize = 5,
  SetPeerBandwidth = 6,
  Audio = 8,
  Video = 9,
  DataAmf3 = 15,
  SharedObjectAmf3 = 16,
  CommandAmf3 = 17,
  DataAmf0 = 18,
  SharedObjectAmf0 = 19,
  CommandAmf0 = 20,
  Aggregate = 22,
}

/** One whole RTMP message, as reassembled from chunks or handed to the encoder. */
export interface RtmpMessage {
  /** Chunk stream the message travelled on; the encoder chooses headers per chunk stream. */
  chunkStreamId: number;
  /** Milliseconds, unsigned 32-bit, wrapping. */
  timestamp: number;
  typeId: number;
  /** Message stream id: 0 for the connection, the createStream result for a NetStream. */
  streamId: number;
  payload: Buffer;
}

/** Chunk stream ids this server writes on; peers choose their own and any valid id is accepted. */
export const ChunkStreamIds = {
  protocolControl: 2,
  command: 3,
  audio: 4,
  video: 6,
  data: 5,
} as const;

export const isProtocolControl = (typeId: number): boolean => typeId >= 1 && typeId <= 6;
export const isMedia = (typeId: number): boolean => typeId === MessageType.Audio || typeId === MessageType.Video;
