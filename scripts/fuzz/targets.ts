/**
 * Fuzz targets: the parsers that read what a peer sends. Each takes bytes (and where
 * it matters, points to split them at, as TCP would) and must give a value or throw a
 * ProtocolError (AmfError is one); anything else is a crash. Seeds come from the real
 * sessions in specs/fixtures (ffmpeg and rtmpdump against nginx-rtmp).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeAmf0, encodeAmf0 } from '../../lib/protocol/amf/amf0';
import { decodeAmf3, encodeAmf3 } from '../../lib/protocol/amf/amf3';
import { ChunkDecoder } from '../../lib/protocol/chunk/decoder';
import { decodeCommand } from '../../lib/protocol/commands';
import { decodeControl } from '../../lib/protocol/control';
import { ProtocolError } from '../../lib/protocol/errors';
import { flvHeader, flvTag, parseFlv } from '../../lib/protocol/flv';
import { HANDSHAKE_SIZE, ServerHandshake } from '../../lib/protocol/handshake';
import { MessageType, RtmpMessage } from '../../lib/protocol/message';
import { parseNetCommand } from '../../lib/protocol/net-commands';

export interface FuzzTarget {
  name: string;
  seeds: Buffer[];
  /** Feeds `input`, cut at `splits` (offsets, any order), to the parser. */
  run(input: Buffer, splits: number[]): void;
}

const FIXTURES = join(__dirname, '..', '..', 'specs', 'fixtures');

function pieces(input: Buffer, splits: number[]): Buffer[] {
  const cuts = [...new Set(splits.map((s) => s % (input.length + 1)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let at = 0;
  for (const cut of cuts) {
    out.push(input.subarray(at, cut));
    at = cut;
  }
  out.push(input.subarray(at));
  return out;
}

/** The client-to-server sessions: handshake bytes, then the chunk stream. */
const sessions = readdirSync(FIXTURES)
  .filter((f) => f.endsWith('.c2s'))
  .map((f) => readFileSync(join(FIXTURES, f)));
const chunkStreams = sessions.map((s) => s.subarray(1 + 2 * HANDSHAKE_SIZE));
const messages: RtmpMessage[] = [];
for (const stream of chunkStreams) {
  const decoder = new ChunkDecoder((m) => messages.push({ ...m, payload: Buffer.from(m.payload) }));
  try {
    decoder.push(stream);
  } catch {
    // A recorded session may end mid-message; what came before is seed enough.
  }
}
const commandPayloads = messages.filter((m) => m.typeId === MessageType.CommandAmf0 || m.typeId === MessageType.DataAmf0).map((m) => m.payload);
const mediaMessages = messages.filter((m) => m.typeId === MessageType.Audio || m.typeId === MessageType.Video).slice(0, 40);

const typed = (error: unknown): void => {
  if (!(error instanceof ProtocolError)) throw error;
};

/** Runs a parse: a value or a ProtocolError passes, anything else is the crash. */
const parses = (parse: () => unknown): void => {
  try {
    parse();
  } catch (error) {
    typed(error);
  }
};

export const targets: FuzzTarget[] = [
  {
    name: 'chunk',
    seeds: chunkStreams.map((s) => s.subarray(0, 4096)),
    run(input, splits) {
      // Limits low enough that a fuzzed length cannot make the run allocate much.
      const decoder = new ChunkDecoder(
        (m) => {
          if (m.typeId >= 1 && m.typeId <= 6) {
            try {
              decodeControl(m.typeId, m.payload);
            } catch (error) {
              typed(error);
            }
          }
        },
        { maxMessageSize: 1 << 20, maxPendingBytes: 4 << 20 },
      );
      try {
        for (const piece of pieces(input, splits)) decoder.push(piece);
      } catch (error) {
        typed(error);
      }
    },
  },
  {
    name: 'amf0',
    seeds: [...commandPayloads, encodeAmf0([{ a: [1, 'x', null, undefined, true], d: new Date(0) }, 'str', 1.5])],
    run: (input) => parses(() => decodeAmf0(input)),
  },
  {
    name: 'amf3',
    seeds: [encodeAmf3([{ a: [1, 'x', null, true], nested: { b: 'x', c: [1, 2, 3] }, d: new Date(0) }, 'str', 1.5, -7, 2 ** 40])],
    run: (input) => parses(() => decodeAmf3(input)),
  },
  {
    name: 'handshake',
    seeds: sessions.map((s) => s.subarray(0, 1 + 2 * HANDSHAKE_SIZE)),
    run(input, splits) {
      const handshake = new ServerHandshake();
      try {
        for (const piece of pieces(input, splits)) {
          if (handshake.done) break;
          handshake.push(piece);
        }
      } catch (error) {
        typed(error);
      }
    },
  },
  {
    name: 'flv',
    seeds: [Buffer.concat([flvHeader(true, true), ...mediaMessages.flatMap((m) => flvTag(m.typeId, m.timestamp, m.payload))])],
    run: (input) => parses(() => parseFlv(input)),
  },
  {
    name: 'command',
    seeds: commandPayloads,
    run: (input) => parses(() => parseNetCommand(decodeCommand(MessageType.CommandAmf0, input))),
  },
];
