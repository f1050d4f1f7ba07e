// node:net for the browser build: there is no TCP in a page; the client connects with ws:// or wss:// URLs.
export class Socket {}
export function createConnection(): never {
  throw new Error('a browser has no TCP: connect with a ws:// or wss:// URL (ws://host:port/rtmp/app)');
}
