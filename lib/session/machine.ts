import { assign, emit, setup } from 'xstate';

export interface ConnectionTimeouts {
  /** From the first byte to C2; a peer that stalls mid-handshake is dropped after this. */
  handshake: number;
  /** From the handshake to the connect command. */
  connect: number;
}

export interface ConnectionMachineInput {
  id: string;
  remoteAddress: string;
  timeouts: ConnectionTimeouts;
}

export interface ConnectionContext extends ConnectionMachineInput {
  app: string | undefined;
  /** Streams that are playing or publishing; `streaming` while above zero. */
  activeStreams: number;
  /** NetStreams created and not yet deleted. */
  createdStreams: number;
  closeReason: string | undefined;
}

export type ConnectionEvent =
  | { type: 'HANDSHAKE_DONE' }
  | { type: 'CONNECT_REQUESTED'; app: string }
  | { type: 'CONNECT_ACCEPTED' }
  | { type: 'CONNECT_REJECTED'; reason: string }
  | { type: 'STREAM_CREATED' }
  | { type: 'STREAM_DELETED' }
  | { type: 'STREAM_ACTIVE' }
  | { type: 'STREAM_INACTIVE' }
  | { type: 'CLOSE'; reason: string }
  | { type: 'TRANSPORT_CLOSED'; reason?: string };

/** What the machine asks its owner to do; the session listens with `actor.on(type, …)`. */
export type ConnectionEffect = { type: 'closeTransport' };

/**
 * The control plane of one connection. It decides; it carries no media. The side
 * effects it asks for (`closeTransport`) are emitted for the session to carry out,
 * so the chart can be drawn, inspected and run in tests without a socket.
 */
export const connectionMachine = setup({
  types: {
    context: {} as ConnectionContext,
    events: {} as ConnectionEvent,
    input: {} as ConnectionMachineInput,
    emitted: {} as ConnectionEffect,
  },
  delays: {
    handshakeTimeout: ({ context }) => context.timeouts.handshake,
    connectTimeout: ({ context }) => context.timeouts.connect,
  },
  guards: {
    isLastActiveStream: ({ context }) => context.activeStreams <= 1,
  },
  actions: {
    rememberApp: assign({ app: ({ event }) => (event.type === 'CONNECT_REQUESTED' ? event.app : undefined) }),
    countCreated: assign({ createdStreams: ({ context }) => context.createdStreams + 1 }),
    countDeleted: assign({ createdStreams: ({ context }) => Math.max(0, context.createdStreams - 1) }),
    countStreamUp: assign({ activeStreams: ({ context }) => context.activeStreams + 1 }),
    countStreamDown: assign({ activeStreams: ({ context }) => Math.max(0, context.activeStreams - 1) }),
    rememberCloseReason: assign({
      closeReason: ({ context, event }) => {
        if (context.closeReason !== undefined) return context.closeReason;
        if (event.type === 'CLOSE' || event.type === 'CONNECT_REJECTED') return 'reason' in event ? event.reason : undefined;
        if (event.type === 'TRANSPORT_CLOSED') return event.reason ?? 'peer closed the connection';
        return undefined;
      },
    }),
    handshakeTimedOut: assign({ closeReason: 'handshake timed out' }),
    connectTimedOut: assign({ closeReason: 'no connect command after the handshake' }),
    // An emitted effect, not a provided action: `provide()` would build a whole machine per connection.
    closeTransport: emit({ type: 'closeTransport' } as const),
  },
}).createMachine({
  id: 'rtmpConnection',
  context: ({ input }) => ({ ...input, app: undefined, activeStreams: 0, createdStreams: 0, closeReason: undefined }),
  initial: 'handshake',
  states: {
    handshake: {
      after: { handshakeTimeout: { target: 'closing', actions: 'handshakeTimedOut' } },
      on: { HANDSHAKE_DONE: 'awaitingConnect' },
    },
    awaitingConnect: {
      after: { connectTimeout: { target: 'closing', actions: 'connectTimedOut' } },
      on: { CONNECT_REQUESTED: { target: 'authorizing', actions: 'rememberApp' } },
    },
    authorizing: {
      on: {
        CONNECT_ACCEPTED: 'connected',
        CONNECT_REJECTED: { target: 'closing', actions: 'rememberCloseReason' },
      },
    },
    connected: {
      on: {
        STREAM_ACTIVE: { target: 'streaming', actions: 'countStreamUp' },
        STREAM_CREATED: { actions: 'countCreated' },
        STREAM_DELETED: { actions: 'countDeleted' },
      },
    },
    streaming: {
      on: {
        STREAM_CREATED: { actions: 'countCreated' },
        STREAM_DELETED: { actions: 'countDeleted' },
        STREAM_ACTIVE: { actions: 'countStreamUp' },
        STREAM_INACTIVE: [
          { guard: 'isLastActiveStream', target: 'connected', actions: 'countStreamDown' },
          { actions: 'countStreamDown' },
        ],
      },
    },
    closing: {
      entry: 'closeTransport',
      on: {
        CLOSE: {},
        TRANSPORT_CLOSED: { target: 'closed', actions: 'rememberCloseReason' },
      },
    },
    closed: { type: 'final' },
  },
  on: {
    CLOSE: { target: '.closing', actions: 'rememberCloseReason' },
    TRANSPORT_CLOSED: { target: '.closed', actions: 'rememberCloseReason' },
  },
});

export type ConnectionStateName = 'handshake' | 'awaitingConnect' | 'authorizing' | 'connected' | 'streaming' | 'closing' | 'closed';
