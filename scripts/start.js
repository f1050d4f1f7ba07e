'use strict';
// `npm start`: runs the compiled server (dist/lib/cli.js), building it first when it is
// missing or older than the sources it is built from (a checkout where lib/ changed).
const { execSync } = require('node:child_process');
const { existsSync, readdirSync, statSync } = require('node:fs');
const { join } = require('node:path');

const root = join(__dirname, '..');
const stamp = join(root, 'dist', 'BUILD');

function newest(dir) {
  let latest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    latest = Math.max(latest, entry.isDirectory() ? newest(path) : statSync(path).mtimeMs);
  }
  return latest;
}

const sources = ['lib', 'plugins'].map((dir) => join(root, dir)).filter((dir) => existsSync(dir));
const stale = !existsSync(stamp) || sources.some((dir) => newest(dir) > statSync(stamp).mtimeMs);
if (stale && sources.length > 0) {
  console.error('rxrtmp: building dist/ first (npm run build)');
  execSync('npm run build', { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
}
require(join(root, 'dist', 'lib', 'cli.js'));
