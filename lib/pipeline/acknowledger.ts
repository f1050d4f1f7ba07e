/**
 * Acknowledgements, as both ends owe them: once the peer has announced a window
 * (Window Acknowledgement Size), every time the bytes received since the last
 * acknowledgement reach it, acknowledge the running total (modulo 2^32).
 */
export class Acknowledger {
  /** Every byte read from the transport, the handshake included. */
  bytesIn = 0;
  /** The peer's window; 0 until it announces one, and then no acknowledgements are owed. */
  private window = 0;
  private acknowledgedAt = 0;

  constructor(private readonly acknowledge: (sequenceNumber: number) => void) {}

  /** Each read from the transport. */
  received(bytes: number): void {
    this.bytesIn += bytes;
    this.acknowledgeIfDue();
  }

  /** The window may arrive in the same read as the bytes that already fill it, so it is checked at once. */
  setWindow(size: number): void {
    this.window = size;
    this.acknowledgeIfDue();
  }

  private acknowledgeIfDue(): void {
    if (this.window > 0 && this.bytesIn - this.acknowledgedAt >= this.window) {
      this.acknowledgedAt = this.bytesIn;
      this.acknowledge(this.bytesIn % 0x100000000);
    }
  }
}
