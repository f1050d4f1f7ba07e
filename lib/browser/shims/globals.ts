// Node globals the shared code uses, injected into the browser build.
import { Buffer } from 'buffer';
import process from 'process';

/** setImmediate: a message-channel turn, sooner than setTimeout(0)'s clamped delay. */
const channel = new MessageChannel();
const queue: Array<() => void> = [];
// The browser's MessagePort (the shim is typed against Node's, which has no onmessage).
(channel.port1 as unknown as { onmessage: () => void }).onmessage = () => {
  const run = queue.splice(0, queue.length);
  for (const task of run) task();
};
function setImmediate(callback: (...args: unknown[]) => void, ...args: unknown[]): { unref(): void; ref(): void } {
  queue.push(() => callback(...args));
  if (queue.length === 1) channel.port2.postMessage(0);
  return { unref() {}, ref() {} };
}

export { Buffer, process, setImmediate };
