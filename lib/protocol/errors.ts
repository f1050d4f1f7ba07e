/**
 * One error class per failure kind, each with a stable code, so a session can log
 * why it closed a connection and tests can assert on the kind rather than the text.
 */
export type ProtocolErrorCode =
  | 'ERR_HANDSHAKE_VERSION'
  | 'ERR_HANDSHAKE_STATE'
  | 'ERR_HANDSHAKE_DIGEST'
  | 'ERR_CHUNK_SIZE'
  | 'ERR_CHUNK_STREAM_ID'
  | 'ERR_CHUNK_NO_PREVIOUS_HEADER'
  | 'ERR_CHUNK_INTERRUPTED'
  | 'ERR_MESSAGE_TOO_LARGE'
  | 'ERR_CONTROL_MESSAGE'
  | 'ERR_AMF_TRUNCATED'
  | 'ERR_AMF_MARKER'
  | 'ERR_AMF_REFERENCE'
  | 'ERR_AMF_DEPTH'
  | 'ERR_AMF_LENGTH'
  | 'ERR_AMF_EXTERNALIZABLE'
  | 'ERR_AMF_UNENCODABLE'
  | 'ERR_COMMAND'
  | 'ERR_MEDIA_TAG'
  | 'ERR_FLV';

export class ProtocolError extends Error {
  override readonly name = 'ProtocolError';
  constructor(
    readonly code: ProtocolErrorCode,
    message: string,
    /** Byte offset in the input the error refers to, where one applies. */
    readonly offset?: number,
  ) {
    super(offset === undefined ? message : `${message} (at offset ${offset})`);
  }
}

export class AmfError extends ProtocolError {}
