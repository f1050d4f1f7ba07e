import { baseName, DEFAULT_NAME_PATTERN, nameProblem } from '../session/names';
import type { Authorization, AuthorizationRequest, Authorizer } from './authorizer';

export interface HttpHookOptions {
  /** Asked before a publish (nginx-rtmp's on_publish); none: publishing is not asked about. */
  onPublish?: string;
  /** Asked before a play (nginx-rtmp's on_play). */
  onPlay?: string;
  /** A hook that has not answered after this long refuses (ms; default 3000). */
  timeout?: number;
}

/**
 * Publish and play hooks with nginx-rtmp's semantics: a form-encoded POST of `call`,
 * `app`, `name`, `addr` and the stream name's query arguments (where tokens travel) to the
 * hook's URL; 2xx allows, 3xx allows under the name its Location gives (a redirect), any
 * other status refuses, and so do a timeout and a hook that cannot be reached.
 */
export class HttpHookAuthorizer implements Authorizer {
  private readonly timeout: number;

  constructor(private readonly options: HttpHookOptions) {
    this.timeout = options.timeout ?? 3000;
    for (const url of [options.onPublish, options.onPlay]) if (url !== undefined) new URL(url);
  }

  async authorize(request: AuthorizationRequest): Promise<Authorization> {
    const url = request.action === 'publish' ? this.options.onPublish : this.options.onPlay;
    if (url === undefined) return { allow: true };
    const body = new URLSearchParams({ call: request.action, app: request.app, name: request.name, addr: request.remoteAddress.replace(/:\d+$/, '') });
    for (const [key, value] of request.query) if (!body.has(key)) body.append(key, value);
    let response: Response;
    try {
      response = await fetch(url, { method: 'POST', body, redirect: 'manual', signal: AbortSignal.timeout(this.timeout) });
    } catch (error) {
      const timedOut = error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError');
      return { allow: false, reason: timedOut ? `the ${request.action} hook did not answer within ${this.timeout} ms` : `the ${request.action} hook could not be reached` };
    } finally {
      // Nothing of the body is needed: released at once.
    }
    void response.body?.cancel().catch(() => undefined);
    if (response.status >= 200 && response.status < 300) return { allow: true };
    if (response.status >= 300 && response.status < 400) {
      const location = response.headers.get('location') ?? '';
      // The new name is the Location's last path segment, or the Location itself; held to the name rules.
      const rename = baseName(location.includes('/') ? location.slice(location.lastIndexOf('/') + 1) : location);
      if (nameProblem('stream', rename, { pattern: DEFAULT_NAME_PATTERN, maxLength: 256 })) return { allow: false, reason: `the ${request.action} hook redirected to an unusable name` };
      return { allow: true, rename };
    }
    return { allow: false, reason: `the ${request.action} hook answered ${response.status}` };
  }
}
