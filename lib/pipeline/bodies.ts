import { chunkBodyLength, chunkPieces, encodeChunkBody, writeChunkBody, writeChunkPieces } from '../protocol/chunk/encoder';

/**
 * A packet's chunk body (its payload with type-3 continuation headers) depends only on
 * the chunk size and the chunk stream, so players on the same layout can share one.
 */

/** Chunk stream ids run from 2 to 65599: a body's key is chunkSize × this + chunk stream id. */
const CHUNK_STREAM_IDS = 65_600;

export function bodyKey(chunkSize: number, chunkStreamId: number): number {
  return chunkSize * CHUNK_STREAM_IDS + chunkStreamId;
}

const chunkSizeOf = (key: number): number => Math.floor(key / CHUNK_STREAM_IDS);
const chunkStreamOf = (key: number): number => key % CHUNK_STREAM_IDS;

/** The bytes a payload takes on the wire after its first header, in the layout `key`. */
export function chunkedLength(length: number, key: number): number {
  return chunkBodyLength(length, chunkSizeOf(key), chunkStreamOf(key));
}

/**
 * Cuts `payload` into chunks of layout `key` straight into `out` at `at`; returns where it
 * ends. With the packet's `BodyCache`, the cuts are made once and reused by every player.
 */
export function writeChunked(payload: Buffer, key: number, out: Buffer, at: number, bodies?: SharedBodies): number {
  const chunkSize = chunkSizeOf(key);
  const pieces = bodies?.piecesOf?.(payload, chunkSize);
  if (pieces !== undefined) return writeChunkPieces(pieces, chunkStreamOf(key), out, at);
  return writeChunkBody(payload, chunkSize, chunkStreamOf(key), out, at);
}

/** Chunk bodies shared between the players of one message, by layout key (a `Map` will do). */
export interface SharedBodies {
  get(key: number): Buffer | undefined;
  set(key: number, body: Buffer): unknown;
  /** The message's payload cut at every `chunkSize` bytes, made once for all its players; without it each flush cuts its own. */
  piecesOf?(payload: Buffer, chunkSize: number): readonly Buffer[];
}

/** The body of `payload` in layout `key`: built by the first writer that needs it, reused by the rest. */
export function sharedBody(bodies: SharedBodies, key: number, payload: Buffer): Buffer {
  let body = bodies.get(key);
  if (body === undefined) {
    body = encodeChunkBody(payload, chunkSizeOf(key), chunkStreamOf(key));
    bodies.set(key, body);
  }
  return body;
}

/**
 * A message's shared bodies: nearly always one layout (every player on the same chunk
 * size), held without a Map, which costs a message half a kilobyte of heap.
 */
export class BodyCache implements SharedBodies {
  private key = -1;
  private body: Buffer | undefined;
  private others: Map<number, Buffer> | undefined;
  private pieces: Buffer[] | undefined;
  private piecesChunkSize = 0;

  get(key: number): Buffer | undefined {
    return key === this.key ? this.body : this.others?.get(key);
  }

  /**
   * `payload` (this packet's) cut at every `chunkSize` bytes, made by the first player that
   * copies it and kept for the one chunk size nearly all players share: a few views per
   * packet instead of a view per chunk per player.
   */
  piecesOf(payload: Buffer, chunkSize: number): readonly Buffer[] {
    if (this.pieces !== undefined && this.piecesChunkSize === chunkSize) return this.pieces;
    const pieces = chunkPieces(payload, chunkSize);
    if (this.pieces === undefined) {
      this.pieces = pieces;
      this.piecesChunkSize = chunkSize;
    }
    return pieces;
  }

  /** The layouts built so far, by key. */
  keys(): number[] {
    return this.body === undefined ? [] : [this.key, ...(this.others?.keys() ?? [])];
  }

  set(key: number, body: Buffer): this {
    if (this.body === undefined || key === this.key) {
      this.key = key;
      this.body = body;
    } else {
      (this.others ??= new Map()).set(key, body);
    }
    return this;
  }
}
