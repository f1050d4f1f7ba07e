// The `ws` package for the browser build: the page's own WebSocket.
export const WebSocket = globalThis.WebSocket;
