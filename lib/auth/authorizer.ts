import { baseName } from '../session/names';
import type { NetStream } from '../session/net-stream';
import type { StreamHandler } from '../session/handlers';
import type { Logger } from '../session/options';

export type StreamAction = 'publish' | 'play';

/** What is asked: an action on `app/name`, with the name's query (where tokens travel). */
export interface AuthorizationRequest {
  action: StreamAction;
  app: string;
  /** The stream name without its query. */
  name: string;
  query: URLSearchParams;
  remoteAddress: string;
}

/**
 * `reason` is for the log and the client; it must never carry a secret or the token.
 * `rename` lets the stream through under another name (an HTTP hook's redirect).
 */
export type Authorization = { allow: true; rename?: string } | { allow: false; reason: string };

/** Decides who may publish and play what. Built-ins: `TokenAuthorizer` (signed tokens). */
export interface Authorizer {
  authorize(request: AuthorizationRequest): Authorization | Promise<Authorization>;
}

/** A stream name without its query, for logs and the console: tokens travel in the query. */
export function withoutQuery(name: string): string {
  const base = baseName(name);
  return base === name ? name : `${base}?…`;
}

/**
 * A stream handler that asks `authorizer` before publish and play and refuses what it
 * denies (NetStream.Publish.Denied / NetStream.Play.Failed). It decides nothing itself
 * when it allows, so register it before the applications' stream handlers: the first
 * handler with an answer wins.
 */
export function authorizeStreams(authorizer: Authorizer, logger?: Logger): StreamHandler {
  const check = async (action: StreamAction, stream: NetStream, asked: { streamName: string }): Promise<undefined | { reject: string; code: string }> => {
    const streamName = asked.streamName;
    const at = streamName.indexOf('?');
    const request: AuthorizationRequest = {
      action,
      app: stream.connection.app ?? '',
      name: at < 0 ? streamName : streamName.slice(0, at),
      query: new URLSearchParams(at < 0 ? '' : streamName.slice(at + 1)),
      remoteAddress: stream.connection.remoteAddress,
    };
    let verdict: Authorization;
    try {
      verdict = await authorizer.authorize(request);
    } catch (error) {
      verdict = { allow: false, reason: `the authorizer failed: ${error instanceof Error ? error.message : String(error)}` };
    }
    if (verdict.allow) {
      // The request object is the one every later handler gets: a rename reaches them all.
      if (verdict.rename !== undefined && verdict.rename !== request.name) {
        logger?.info(`${stream.connection.label} ${action} ${request.app}/${request.name} redirected to ${verdict.rename}`);
        asked.streamName = verdict.rename;
      }
      return undefined;
    }
    logger?.warn(`${stream.connection.label} ${action} ${request.app}/${request.name} refused: ${verdict.reason}`);
    return { reject: `${action} of ${request.name} refused: ${verdict.reason}`, code: action === 'publish' ? 'NetStream.Publish.Denied' : 'NetStream.Play.Failed' };
  };
  return {
    publish: (stream, request) => check('publish', stream, request),
    play: (stream, request) => check('play', stream, request),
  };
}
