import test from 'ava';
import { join } from 'node:path';
import { PluginRegistry } from '../../lib/plugins/registry';

test('the bundled plugins directory loads Screen Video (and H.264 when ffmpeg is there)', async (t) => {
  const registry = new PluginRegistry();
  const { loaded, failed } = await registry.loadDirectory(join(__dirname, '..', '..', 'plugins'));
  t.deepEqual(failed, []);
  t.true(loaded.some((p) => p.codecs.some((c) => c.name === 'screen-video')));
  t.true(registry.has('h264'));
  await registry.close();
});
