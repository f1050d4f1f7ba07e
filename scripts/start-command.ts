import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** What `npm start` runs, read from package.json: leading `NAME=value` words, then `node` and its arguments. */
export interface StartCommand {
  env: Record<string, string>;
  /** Everything after `node`: V8 flags, preloads, the entry point. */
  nodeArgs: string[];
  /** The `--` flags before the first other argument: what the bench gives the rxrtmp child. */
  nodeFlags: string[];
}

export function npmStartCommand(root = join(__dirname, '..')): StartCommand {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: { start: string } };
  const words = pkg.scripts.start.trim().split(/\s+/);
  const env: Record<string, string> = {};
  let at = 0;
  for (; at < words.length && /^[A-Za-z_][A-Za-z0-9_]*=/.test(words[at]!); at++) {
    const word = words[at]!;
    const eq = word.indexOf('=');
    env[word.slice(0, eq)] = word.slice(eq + 1);
  }
  if (words[at] !== 'node') throw new Error(`the start script does not run node: ${pkg.scripts.start}`);
  const nodeArgs = words.slice(at + 1);
  const firstOther = nodeArgs.findIndex((word) => !word.startsWith('--'));
  return { env, nodeArgs, nodeFlags: firstOther < 0 ? nodeArgs : nodeArgs.slice(0, firstOther) };
}
