/**
 * Transpiles lib/ and the rxrtmp child to JavaScript in a temp dir, so the child runs on
 * plain node: under ts-node it would carry the TypeScript compiler in its heap (about
 * 100 MB of RSS and 4 s of start-up that are not the server's).
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import * as ts from 'typescript';

export const REPO = join(__dirname, '..', '..');

function tsFiles(dir: string, out: string[] = []): string[] {
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) tsFiles(path, out);
    else if (entry.endsWith('.ts') && !entry.endsWith('.d.ts')) out.push(path);
  }
  return out;
}

export interface ChildBuild {
  /** The transpiled rxrtmp-server.js. */
  entry: string;
  /** NODE_PATH for the child, so that rxjs and xstate resolve from the repo's node_modules. */
  nodePath: string;
  dir: string;
}

export function buildChild(): ChildBuild {
  const dir = join(tmpdir(), `rxrtmp-bench-build-${process.pid}`);
  rmSync(dir, { recursive: true, force: true });
  const sources = [...tsFiles(join(REPO, 'lib')), join(REPO, 'scripts', 'bench', 'rxrtmp-server.ts')];
  const compilerOptions: ts.CompilerOptions = {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.CommonJS,
    esModuleInterop: true,
    // As ts-node --transpile-only: each file alone, type-only imports dropped.
    isolatedModules: true,
  };
  for (const source of sources) {
    const output = ts.transpileModule(readFileSync(source, 'utf8'), { compilerOptions, fileName: source }).outputText;
    const target = join(dir, relative(REPO, source)).replace(/\.ts$/, '.js');
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, output);
  }
  return { entry: join(dir, 'scripts', 'bench', 'rxrtmp-server.js'), nodePath: join(REPO, 'node_modules'), dir };
}
