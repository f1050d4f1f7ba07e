import type { Decision, MaybeAsync } from './handlers';

export type Verdict<H = unknown> = { accepted: true; by?: H } | { accepted: false; description: string; code?: string };

/**
 * Runs a chain of handlers: the first `true` accepts, a `{ reject }` refuses at once,
 * a throw refuses with its message, and when every handler passes the answer is `fallback`.
 */
export async function decide<H>(
  handlers: readonly H[],
  ask: (handler: H) => MaybeAsync<Decision> | undefined,
  fallback: Verdict<H>,
): Promise<Verdict<H>> {
  for (const handler of handlers) {
    let decision: Decision;
    try {
      decision = await ask(handler);
    } catch (error) {
      return { accepted: false, description: error instanceof Error ? error.message : String(error) };
    }
    if (decision === true) return { accepted: true, by: handler };
    if (typeof decision === 'object' && decision !== null) {
      return { accepted: false, description: decision.reject, code: decision.code };
    }
  }
  return fallback;
}
