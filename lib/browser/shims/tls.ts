// node:tls for the browser build: only the class the writer tests transports against.
export class TLSSocket {}
