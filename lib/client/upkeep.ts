import { ControlMessage } from '../protocol/control';

/**
 * The client's share of protocol housekeeping: acknowledge every window of bytes the
 * server announced with Window Acknowledgement Size, and answer its pings.
 * Set Chunk Size and Abort need nothing here: the chunk decoder applies them.
 */
export class ClientUpkeep {
  /** Every byte read from the transport, the handshake included (as the server counts). */
  bytesIn = 0;
  /** The server's window; 0 until it announces one, and then no acknowledgements are owed. */
  private peerWindow = 0;
  private acknowledgedAt = 0;

  constructor(private readonly sendControl: (control: ControlMessage) => void) {}

  /** Each read from the transport. */
  received(bytes: number): void {
    this.bytesIn += bytes;
    if (this.peerWindow > 0 && this.bytesIn - this.acknowledgedAt >= this.peerWindow) {
      this.acknowledgedAt = this.bytesIn;
      // The sequence number is the byte count modulo 2^32.
      this.sendControl({ kind: 'acknowledgement', sequenceNumber: this.bytesIn % 0x100000000 });
    }
  }

  handle(control: ControlMessage): void {
    switch (control.kind) {
      case 'windowAcknowledgementSize':
        this.peerWindow = control.size;
        this.received(0);
        return;
      case 'pingRequest':
        this.sendControl({ kind: 'pingResponse', timestamp: control.timestamp });
        return;
      default:
        return;
    }
  }
}
