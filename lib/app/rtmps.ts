import { readFileSync, unwatchFile, watchFile } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { createServer as createTlsServer, Server as TlsServer, TLSSocket } from 'node:tls';
import type { Logger } from '../session/options';

export interface RtmpsOptions {
  host?: string;
  /** Default 443, as ffmpeg and librtmp assume for rtmps:// without a port. */
  port?: number;
  /** PEM files; they are watched, and a change is loaded without a restart. */
  certFile: string;
  keyFile: string;
  /** A peer that has not finished the TLS handshake after this long is dropped (ms; default 10000). */
  handshakeTimeout?: number;
  /** How often the files are looked at (ms; default 1000). */
  watchInterval?: number;
}

/** A TLS listener whose certificate follows its files: renewed certificates apply to new connections. */
export class RtmpsListener {
  /** Times the certificate was loaded again after a change. */
  reloads = 0;
  private readonly server: TlsServer;
  private readonly watchInterval: number;
  private readonly onChange = (): void => this.reload();

  constructor(
    private readonly options: RtmpsOptions,
    accept: (socket: TLSSocket) => void,
    private readonly logger: Logger,
  ) {
    this.watchInterval = options.watchInterval ?? 1000;
    this.server = createTlsServer({ ...this.readPair(), handshakeTimeout: options.handshakeTimeout ?? 10_000 }, accept);
    // A failed TLS handshake (a plain RTMP client on the TLS port, a scanner) is that peer's problem.
    this.server.on('tlsClientError', (error, socket) => {
      this.logger.warn(`rtmps ${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'} TLS handshake failed: ${error.message}`);
      socket.destroy();
    });
  }

  listen(): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.options.port ?? 443, this.options.host ?? '0.0.0.0', () => {
        this.server.off('error', reject);
        watchFile(this.options.certFile, { interval: this.watchInterval }, this.onChange);
        watchFile(this.options.keyFile, { interval: this.watchInterval }, this.onChange);
        const address = this.server.address() as AddressInfo;
        this.logger.info(`rtmps listening on ${address.address}:${address.port}`);
        resolve(address);
      });
    });
  }

  address(): AddressInfo | undefined {
    return (this.server.address() as AddressInfo | null) ?? undefined;
  }

  close(): Promise<void> {
    unwatchFile(this.options.certFile, this.onChange);
    unwatchFile(this.options.keyFile, this.onChange);
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private readPair(): { cert: Buffer; key: Buffer } {
    return { cert: readFileSync(this.options.certFile), key: readFileSync(this.options.keyFile) };
  }

  /** A pair that does not load (half-written, mismatched) leaves the running one in place until the next change. */
  private reload(): void {
    try {
      this.server.setSecureContext(this.readPair());
      this.reloads++;
      this.logger.info(`rtmps certificate reloaded from ${this.options.certFile}`);
    } catch (error) {
      this.logger.error(`rtmps certificate not reloaded, the old one stays: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
}
