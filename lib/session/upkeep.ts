import { interval, SchedulerLike, Subscription, asyncScheduler } from 'rxjs';
import { sharedTicks } from './ticker';
import { ControlMessage } from '../protocol/control';
import { Acknowledger } from '../pipeline/acknowledger';

export interface UpkeepHost {
  sendControl(control: ControlMessage): void;
  close(reason: string): void;
  setBufferLength(streamId: number, milliseconds: number): void;
}

export interface UpkeepOptions {
  pingInterval: number;
  idleTimeout: number;
  windowAckSize: number;
  /** Ping requests answered per second; default unlimited. */
  maxPingsPerSecond?: number;
  scheduler?: SchedulerLike;
}

/**
 * The protocol's housekeeping for one connection: acknowledgements on the peer's
 * window, answers to pings, pings of our own when the peer goes quiet, and the
 * verdict that a silent peer is dead.
 */
export class Upkeep {
  /** Round trip of the last ping we sent (ms). */
  roundTrip: number | undefined;
  private readonly acknowledger: Acknowledger;
  private lastHeard: number;
  private pingSentAt: number | undefined;
  private pingWindowStart = -Infinity;
  private pingsAnswered = 0;
  /** Ping requests left unanswered because the peer sent more than maxPingsPerSecond. */
  pingsIgnored = 0;
  private timer: Subscription | undefined;
  private readonly scheduler: SchedulerLike;

  constructor(
    private readonly host: UpkeepHost,
    private readonly options: UpkeepOptions,
  ) {
    this.scheduler = options.scheduler ?? asyncScheduler;
    this.acknowledger = new Acknowledger((sequenceNumber) => host.sendControl({ kind: 'acknowledgement', sequenceNumber }));
    this.lastHeard = this.scheduler.now();
  }

  /** Every read from the transport, with the running total of bytes received. */
  /** Every read from the transport. */
  received(bytes: number): void {
    this.lastHeard = this.scheduler.now();
    this.acknowledger.received(bytes);
  }

  handle(control: ControlMessage): void {
    switch (control.kind) {
      case 'windowAcknowledgementSize':
        this.acknowledger.setWindow(control.size);
        return;
      case 'setPeerBandwidth':
        // The peer limits what we send; we answer with our window when it differs, as the spec asks.
        if (control.size !== this.options.windowAckSize) {
          this.host.sendControl({ kind: 'windowAcknowledgementSize', size: this.options.windowAckSize });
        }
        return;
      case 'pingRequest': {
        // At most maxPingsPerSecond answers in any second: a ping flood gets the rest ignored.
        const now = this.scheduler.now();
        if (now - this.pingWindowStart >= 1000) {
          this.pingWindowStart = now;
          this.pingsAnswered = 0;
        }
        if (this.pingsAnswered >= (this.options.maxPingsPerSecond ?? Infinity)) {
          this.pingsIgnored++;
          return;
        }
        this.pingsAnswered++;
        this.host.sendControl({ kind: 'pingResponse', timestamp: control.timestamp });
        return;
      }
      case 'pingResponse':
        if (this.pingSentAt !== undefined) this.roundTrip = this.scheduler.now() - this.pingSentAt;
        this.pingSentAt = undefined;
        return;
      case 'setBufferLength':
        this.host.setBufferLength(control.streamId, control.milliseconds);
        return;
      default:
        return;
    }
  }

  start(): void {
    const period = Math.max(10, Math.min(this.options.pingInterval, this.options.idleTimeout) / 2);
    // A scheduler given (virtual time in specs) gets its own interval; otherwise connections share one timer.
    const ticks = this.options.scheduler ? interval(period, this.options.scheduler) : sharedTicks(period);
    this.timer = ticks.subscribe(() => this.check());
  }

  stop(): void {
    this.timer?.unsubscribe();
    this.timer = undefined;
  }

  private check(): void {
    const now = this.scheduler.now();
    const quiet = now - this.lastHeard;
    if (quiet >= this.options.idleTimeout) {
      this.host.close(`peer sent nothing for ${Math.round(quiet / 1000)} s`);
    } else if (quiet >= this.options.pingInterval && this.pingSentAt === undefined) {
      this.pingSentAt = now;
      this.host.sendControl({ kind: 'pingRequest', timestamp: now % 0x100000000 });
    }
  }
}
