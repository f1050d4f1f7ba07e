import test from 'ava';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PluginError, PluginRegistry } from '../../lib/plugins/registry';
import { fakePlugin } from '../helpers/fake-encoder';

const contract = JSON.stringify(join(__dirname, '..', '..', 'lib', 'plugins', 'contract'));

function pluginDirectory(): string {
  const dir = mkdtempSync(join(tmpdir(), 'rxrtmp-plugins-'));
  writeFileSync(
    join(dir, 'b-good.js'),
    `const { VIDEO_PLUGIN_TYPE, VIDEO_PLUGIN_API_VERSION } = require(${contract});
module.exports = { plugin: { type: VIDEO_PLUGIN_TYPE, apiVersion: VIDEO_PLUGIN_API_VERSION, name: 'good', version: '1.2.3',
  codecs: [{ name: 'good-codec', flvCodecId: 3 }], createEncoder: () => ({ codec: 'good-codec' }) } };`,
  );
  writeFileSync(join(dir, 'a-wrong-type.js'), `module.exports = { type: 'some-other-plugin', apiVersion: 1, name: 'x', version: '1', codecs: [], createEncoder() {} };`);
  writeFileSync(join(dir, 'c-throws.js'), `throw new Error('cannot load me');`);
  writeFileSync(
    join(dir, 'd-old-version.js'),
    `const { VIDEO_PLUGIN_TYPE } = require(${contract}); module.exports = { type: VIDEO_PLUGIN_TYPE, apiVersion: 0, name: 'old', version: '0', codecs: [], createEncoder() {} };`,
  );
  writeFileSync(
    join(dir, 'e-init-fails.js'),
    `const { VIDEO_PLUGIN_TYPE, VIDEO_PLUGIN_API_VERSION } = require(${contract});
module.exports = { type: VIDEO_PLUGIN_TYPE, apiVersion: VIDEO_PLUGIN_API_VERSION, name: 'needs-tool', version: '1', codecs: [{ name: 'z', flvCodecId: 7 }],
  init() { throw new Error('tool missing'); }, createEncoder() {} };`,
  );
  writeFileSync(join(dir, 'notes.txt'), 'not a plugin');
  mkdirSync(join(dir, 'f-folder'));
  writeFileSync(
    join(dir, 'f-folder', 'index.js'),
    `const { VIDEO_PLUGIN_TYPE, VIDEO_PLUGIN_API_VERSION } = require(${contract});
exports.default = { type: VIDEO_PLUGIN_TYPE, apiVersion: VIDEO_PLUGIN_API_VERSION, name: 'folder', version: '1', codecs: [{ name: 'folder-codec', flvCodecId: 2 }], createEncoder: () => ({}) };`,
  );
  return dir;
}

test('a directory with good and bad plugins loads the good ones in name order and reports the others', async (t) => {
  const dir = pluginDirectory();
  try {
    const registry = new PluginRegistry();
    const { loaded, failed } = await registry.loadDirectory(dir);
    t.deepEqual(loaded.map((p) => p.name), ['good', 'folder']);
    t.deepEqual(
      failed.map((f) => [f.path.split('/').pop(), f.error.code]),
      [
        ['a-wrong-type.js', 'ERR_PLUGIN_TYPE'],
        ['c-throws.js', 'ERR_PLUGIN_LOAD'],
        ['d-old-version.js', 'ERR_PLUGIN_VERSION'],
        ['e-init-fails.js', 'ERR_PLUGIN_INIT'],
      ],
    );
    t.regex(failed[0]!.error.message, /plugin type "some-other-plugin" is not rxrtmp-video-plugin/);
    t.regex(failed[1]!.error.message, /cannot load me/);
    t.regex(failed[3]!.error.message, /needs-tool refused to start: tool missing/);
    t.deepEqual(registry.codecs(), ['good-codec', 'folder-codec']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('plugins can be registered in code, and encoders are created per request', async (t) => {
  const registry = new PluginRegistry();
  await registry.register(fakePlugin());
  const [a, b] = [registry.createEncoder('fake'), registry.createEncoder('fake')];
  t.not(a, b, 'one encoder per stream, never shared');
  const error = t.throws(() => registry.createEncoder('nope'), { instanceOf: PluginError });
  t.is(error?.code, 'ERR_PLUGIN_CODEC');
  await t.throwsAsync(registry.register(fakePlugin()), { message: /already loaded/ });
});
