/**
 * App and stream names are client input that reaches registries, URLs, logs and file
 * names: they are checked against an allowlist before any handler sees them.
 *
 * A name is one or more `/`-separated segments of letters, digits, `_`, `.` and `-`, each
 * starting with a letter, digit or `_` (so no empty, `.` or `..` segment and no leading
 * slash), optionally followed by `?` and a query of printable ASCII (where tokens go).
 */
export const DEFAULT_NAME_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9_.-]*(?:\/[A-Za-z0-9_][A-Za-z0-9_.-]*)*$/;

/** Printable ASCII without spaces: what a query string may hold. */
const QUERY = /^[\x21-\x7e]*$/;

export interface NameRules {
  /** The name before any `?`. */
  pattern: RegExp;
  /** Longest name, query included. */
  maxLength: number;
}

/** Why `name` is refused, or undefined when it passes. */
export function nameProblem(kind: 'app' | 'stream', name: string, rules: NameRules): string | undefined {
  if (name.length === 0) return `empty ${kind} name`;
  if (name.length > rules.maxLength) return `${kind} name of ${name.length} characters (at most ${rules.maxLength})`;
  const at = name.indexOf('?');
  const base = at < 0 ? name : name.slice(0, at);
  const query = at < 0 ? '' : name.slice(at + 1);
  // Shown escaped: the name is hostile until proven otherwise.
  if (!rules.pattern.test(base)) return `${kind} name ${JSON.stringify(base)} is outside the allowed characters (${rules.pattern.source})`;
  if (!QUERY.test(query)) return `${kind} name has a query with spaces or control characters`;
  return undefined;
}

/** A stream name without its `?query` (where tokens travel), for statuses, logs and the console. */
export function baseName(name: string): string {
  const at = name.indexOf('?');
  return at < 0 ? name : name.slice(0, at);
}
