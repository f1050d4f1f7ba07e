import type { ExecutionContext } from 'ava';
import { connect } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocket } from 'ws';
import { WebSocketDuplex, WebSocketLike } from '../../lib/pipeline/websocket-duplex';
import { ChunkDecoder } from '../../lib/protocol/chunk/decoder';
import { ChunkEncoder } from '../../lib/protocol/chunk/encoder';
import { decodeCommand, encodeCommand, Command } from '../../lib/protocol/commands';
import { ClientHandshake } from '../../lib/protocol/handshake';
import { ChunkStreamIds, MessageType, RtmpMessage } from '../../lib/protocol/message';
import { Logger } from '../../lib/session/options';

/**
 * A deliberately low-level peer for robustness specs: it can send any bytes,
 * including malformed ones, which the real client never would.
 */
export class RawPeer {
  readonly received: RtmpMessage[] = [];
  readonly encoder = new ChunkEncoder();
  readonly closed: Promise<void>;
  private readonly decoder = new ChunkDecoder((m) => this.received.push({ ...m, payload: Buffer.from(m.payload) }));
  private handshake = new ClientHandshake({ scheme: 'simple' });

  private constructor(readonly socket: Duplex) {
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.on('error', () => undefined);
  }

  static open(port: number): Promise<RawPeer> {
    return new Promise((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', () => resolve(new RawPeer(socket)));
      socket.once('error', reject);
    });
  }

  /** A peer whose bytes travel over WebSocket (`ws://host:port/rtmp/...`); `raw` is the socket, to send frames of any kind. */
  static async overWebSocket(url: string): Promise<RawPeer & { raw: WebSocket }> {
    const raw = new WebSocket(url, { perMessageDeflate: false });
    await new Promise((resolve, reject) => {
      raw.once('open', resolve);
      raw.once('error', reject);
    });
    return Object.assign(new RawPeer(new WebSocketDuplex(raw as unknown as WebSocketLike)), { raw });
  }

  /** Opens a peer, completes the handshake and waits for connect's `_result` on `app`. */
  static async connected(port: number, app: string): Promise<RawPeer> {
    const peer = await RawPeer.open(port);
    await peer.shake();
    peer.connect(app);
    await peer.waitFor((c) => c.name === '_result' && c.transactionId === 1);
    return peer;
  }

  /** Completes the handshake; afterwards every byte from the server goes to the chunk decoder. */
  async shake(): Promise<void> {
    this.socket.write(this.handshake.start());
    await new Promise<void>((resolve, reject) => {
      const onData = (data: Buffer): void => {
        try {
          if (this.handshake.done) return this.decoder.push(data);
          const step = this.handshake.push(data);
          for (const out of step.output) this.socket.write(out);
          if (step.done) {
            if (step.leftover.length) this.decoder.push(step.leftover);
            resolve();
          }
        } catch (error) {
          reject(error);
        }
      };
      this.socket.on('data', onData);
    });
  }

  send(message: RtmpMessage): void {
    this.socket.write(this.encoder.encode(message));
  }

  command(command: Command, streamId = 0): void {
    const { typeId, payload } = encodeCommand(command);
    this.send({ chunkStreamId: ChunkStreamIds.command, timestamp: 0, typeId, streamId, payload });
  }

  connect(app: string, args: Command['args'] = []): void {
    this.command({ name: 'connect', transactionId: 1, commandObject: { app, tcUrl: `rtmp://127.0.0.1/${app}`, objectEncoding: 0 }, args });
  }

  commands(): Command[] {
    return this.received.filter((m) => m.typeId === MessageType.CommandAmf0).map((m) => decodeCommand(m.typeId, m.payload));
  }

  /** Waits until a received command satisfies `match`. */
  async waitFor(match: (command: Command) => boolean, timeout = 5000): Promise<Command> {
    const deadline = Date.now() + timeout;
    for (;;) {
      const found = this.commands().find(match);
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`no matching command within ${timeout} ms; got ${this.commands().map((c) => c.name).join(', ')}`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** A logger that keeps its lines, so specs can check that a close was explained. */
export function recordingLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  return {
    lines,
    info: (m) => lines.push(`INFO ${m}`),
    warn: (m) => lines.push(`WARN ${m}`),
    error: (m) => lines.push(`ERROR ${m}`),
  };
}

/**
 * Waits up to 3 s for the server to log a matching line (its teardown may finish just after
 * the client sees the close), then asserts that it did, showing every line when it did not.
 */
export async function assertLogged(t: ExecutionContext, log: { lines: string[] }, match: RegExp | ((line: string) => boolean)): Promise<void> {
  const matches = typeof match === 'function' ? match : (line: string): boolean => match.test(line);
  await until(() => log.lines.some(matches), 3000).catch(() => undefined);
  t.true(log.lines.some(matches), `no log line ${typeof match === 'function' ? 'matching' : String(match)} in:\n${log.lines.join('\n')}`);
}

export async function until(condition: () => boolean, timeout = 5000): Promise<void> {
  const deadline = Date.now() + timeout;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeout} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
