import type { ConnectionStateName } from './machine';

/** What `Connection.stats()` reports: traffic each way, state, calls, streams, round trip, backlog. */
export interface ConnectionStats {
  state: ConnectionStateName;
  bytesIn: number;
  bytesOut: number;
  /** Reads from the transport: in a fan-out a publisher is read about once per media tick. */
  readsIn: number;
  messagesIn: number;
  messagesOut: number;
  /** Milliseconds since the transport was accepted. */
  uptime: number;
  pendingCalls: number;
  streams: number;
  /** Round trip of the last ping, when one was answered (ms). */
  roundTrip: number | undefined;
  /** Bytes written towards the peer that the operating system has not taken yet. */
  queuedBytes: number;
}
