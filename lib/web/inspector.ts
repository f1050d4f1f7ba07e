import { Packr } from 'msgpackr';
import type { WebSocket } from 'ws';
import type { MachineDescription } from './machine-graph';
import type { Observatory } from './observatory';

export interface InspectorOptions {
  /** At most one frame per viewer this often (ms). */
  intervalMs?: number;
  /** A viewer with more than this waiting to be sent gets nothing more until it drains (bytes). */
  maxBuffered?: number;
}

const packr = new Packr({ useRecords: false });

/**
 * The console's live feed over WebSocket, frames encoded with msgpackr: first everything,
 * then only what changed, at most one frame per interval. Nothing is queued per viewer: a
 * viewer whose socket holds more than `maxBuffered` is skipped, and when it drains it gets
 * what changed since the last frame it took (everything, if that is too far back). So a
 * viewer that stops reading costs its socket buffer and no more, and the RTMP side never
 * waits for it.
 */
export class Inspector {
  private readonly viewers = new Set<Viewer>();
  private readonly timer: NodeJS.Timeout;
  private readonly maxBuffered: number;
  /** Frames not sent because their viewer was over its buffer limit, since start. */
  skippedFrames = 0;

  constructor(
    private readonly observatory: Observatory,
    private readonly machine: MachineDescription,
    options: InspectorOptions = {},
  ) {
    this.maxBuffered = options.maxBuffered ?? 256 * 1024;
    this.timer = setInterval(() => this.tick(), options.intervalMs ?? 250);
    this.timer.unref();
  }

  get viewerCount(): number {
    return this.viewers.size;
  }

  /** Bytes each viewer's socket holds unsent: bounded by `maxBuffered` plus one frame, whatever the viewer does. */
  backlogs(): number[] {
    return [...this.viewers].map((v) => v.socket.bufferedAmount);
  }

  accept(socket: WebSocket): void {
    const viewer: Viewer = { socket, version: -1, selected: undefined, selectedVersion: -1, skipped: 0 };
    this.viewers.add(viewer);
    socket.on('close', () => this.viewers.delete(viewer));
    socket.on('error', () => socket.terminate());
    socket.on('message', (data, isBinary) => {
      if (!isBinary) return socket.close(1003, 'binary msgpack frames only');
      try {
        const message = packr.unpack(data as Buffer) as { type?: unknown; id?: unknown };
        if (message.type === 'select') {
          viewer.selected = typeof message.id === 'string' ? message.id : undefined;
          viewer.selectedVersion = -1;
        }
      } catch {
        socket.close(1007, 'not msgpack');
      }
    });
    this.send(viewer);
  }

  close(): void {
    clearInterval(this.timer);
    for (const viewer of this.viewers) viewer.socket.terminate();
    this.viewers.clear();
  }

  private tick(): void {
    for (const viewer of this.viewers) this.send(viewer);
  }

  private send(viewer: Viewer): void {
    if (viewer.socket.readyState !== viewer.socket.OPEN) return;
    if (viewer.socket.bufferedAmount > this.maxBuffered) {
      viewer.skipped++;
      this.skippedFrames++;
      return;
    }
    const o = this.observatory;
    const version = o.version;
    const frames: unknown[] = [];
    if (viewer.version < 0) {
      frames.push({ type: 'hello', machine: this.machine, counts: o.counts(), rows: o.rows(), streams: o.streams(), version });
    } else if (version !== viewer.version || viewer.skipped > 0) {
      const changes = o.changesSince(viewer.version);
      if (changes.complete) frames.push({ type: 'delta', counts: o.counts(), rows: changes.rows, removed: changes.removed, streams: o.streams(), version });
      else frames.push({ type: 'hello', machine: this.machine, counts: o.counts(), rows: o.rows(), streams: o.streams(), version });
    } else {
      // Streams' rates move without a connection changing.
      frames.push({ type: 'streams', streams: o.streams() });
    }
    if (viewer.selected !== undefined) {
      const at = o.versionOf(viewer.selected) ?? -2;
      if (at !== viewer.selectedVersion) {
        frames.push({ type: 'history', id: viewer.selected, entries: o.history(viewer.selected) ?? null });
        viewer.selectedVersion = at;
      }
    }
    viewer.version = version;
    viewer.skipped = 0;
    for (const frame of frames) viewer.socket.send(packr.pack(frame), { binary: true });
  }
}

interface Viewer {
  socket: WebSocket;
  version: number;
  selected: string | undefined;
  selectedVersion: number;
  skipped: number;
}
