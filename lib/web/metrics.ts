import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Observatory } from './observatory';

/**
 * Prometheus metrics read from the observatory at scrape time. Labels come from the
 * machine's states only, never from connections, so the set of series stays the same
 * whatever the number of connections. A registry of its own, so that two servers in
 * one process (or a host application's own metrics) do not collide.
 */
export function createMetrics(observatory: Observatory): Registry {
  const register = new Registry();
  collectDefaultMetrics({ register });
  new Gauge({
    name: 'rxrtmp_connections',
    help: 'Connections open, by state of the connection machine',
    labelNames: ['state'],
    registers: [register],
    collect() {
      for (const [state, count] of Object.entries(observatory.counts())) this.set({ state }, count);
    },
  });
  counterOf(register, 'rxrtmp_connections_accepted_total', 'Connections accepted since start', () => observatory.accepted);
  // One sum over the connections per scrape serves both byte counters.
  let bytes = { in: 0, out: 0 };
  counterOf(register, 'rxrtmp_received_bytes_total', 'Bytes received from peers', () => (bytes = observatory.bytes()).in);
  counterOf(register, 'rxrtmp_sent_bytes_total', 'Bytes sent to peers', () => bytes.out);
  new Gauge({ name: 'rxrtmp_streams', help: 'Live streams', registers: [register], collect() { this.set(observatory.live?.list().length ?? 0); } });
  new Gauge({ name: 'rxrtmp_players', help: 'Players of live streams', registers: [register], collect() { this.set(observatory.players()); } });
  counterOf(register, 'rxrtmp_frames_dropped_total', 'Frames dropped for players that could not keep up', () => observatory.droppedFrames());
  const seenTransitions = new Map<string, number>();
  new Counter({
    name: 'rxrtmp_state_transitions_total',
    help: 'Transitions of connection machines, by from and to state',
    labelNames: ['from', 'to'],
    registers: [register],
    collect() {
      for (const [key, count] of observatory.transitions) {
        const [from, to] = key.split('\u0000') as [string, string];
        this.inc({ from, to }, count - (seenTransitions.get(key) ?? 0));
        seenTransitions.set(key, count);
      }
    },
  });
  new Histogram({
    name: 'rxrtmp_handshake_duration_seconds',
    help: 'From accept to the end of the RTMP handshake',
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
    registers: [register],
    collect() {
      for (const seconds of observatory.handshakeDurations.splice(0)) this.observe(seconds);
    },
  });
  return register;
}

/** A counter that follows a running total read at scrape time (never going back, should the total). */
function counterOf(register: Registry, name: string, help: string, total: () => number): void {
  let seen = 0;
  new Counter({
    name,
    help,
    registers: [register],
    collect() {
      const now = total();
      if (now > seen) this.inc(now - seen);
      seen = Math.max(seen, now);
    },
  });
}
