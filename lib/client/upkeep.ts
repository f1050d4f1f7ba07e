import { ControlMessage } from '../protocol/control';
import { Acknowledger } from '../pipeline/acknowledger';

/**
 * The client's share of protocol housekeeping: acknowledge every window of bytes the
 * server announced with Window Acknowledgement Size, and answer its pings.
 * Set Chunk Size and Abort need nothing here: the chunk decoder applies them.
 */
export class ClientUpkeep {
  private readonly acknowledger: Acknowledger;

  constructor(private readonly sendControl: (control: ControlMessage) => void) {
    this.acknowledger = new Acknowledger((sequenceNumber) => sendControl({ kind: 'acknowledgement', sequenceNumber }));
  }

  /** Every byte read from the transport, the handshake included (as the server counts). */
  get bytesIn(): number {
    return this.acknowledger.bytesIn;
  }

  /** Each read from the transport. */
  received(bytes: number): void {
    this.acknowledger.received(bytes);
  }

  handle(control: ControlMessage): void {
    switch (control.kind) {
      case 'windowAcknowledgementSize':
        this.acknowledger.setWindow(control.size);
        return;
      case 'pingRequest':
        this.sendControl({ kind: 'pingResponse', timestamp: control.timestamp });
        return;
      default:
        return;
    }
  }
}
