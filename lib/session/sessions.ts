import { setup } from 'xstate';
import type { Logger } from './options';

const CHILD_ERROR = 'xstate.error.actor.';

/**
 * The parent of one server's connection actors. They share its actor system (one
 * scheduler for their timeouts, one place to inspect them all) instead of each
 * building a system of its own, which was a fifth of an idle connection's memory.
 * A connection actor that fails reports here and is logged; without a parent its
 * error would be thrown from a timer and end the process.
 */
export const sessionsMachine = setup({
  types: {
    context: {} as { logger: Logger },
    input: {} as { logger: Logger },
  },
  actions: {
    logChildFailure: ({ context, event }) => {
      if (!event.type.startsWith(CHILD_ERROR)) return;
      const error = (event as { error?: unknown }).error;
      // Every connection actor has the same id (see connection.ts); which one failed is in its own close log.
      context.logger.error(`a connection actor (${event.type.slice(CHILD_ERROR.length)}) failed: ${error instanceof Error ? error.message : String(error)}`);
    },
  },
}).createMachine({
  id: 'sessions',
  context: ({ input }) => ({ logger: input.logger }),
  on: { '*': { actions: 'logChildFailure' } },
});
