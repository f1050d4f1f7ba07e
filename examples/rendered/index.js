'use strict';
// A stream the application draws itself: `render()` paints a bar that sweeps across a
// 320x240 picture, and the bundled Screen Video plugin encodes it. It renders only while
// somebody plays `rendered/sweep`. Play it with `ffplay rtmp://127.0.0.1:1935/rendered/sweep`.
const { createServer, LiveRegistry, PluginRegistry, RenderedStream, silentLogger } = require('rxrtmp');
const { join, dirname } = require('node:path');

const WIDTH = 320;
const HEIGHT = 240;

function render({ frameNumber }) {
  const data = Buffer.alloc(WIDTH * HEIGHT * 3, 40); // BGR24, dark grey
  const x0 = (frameNumber * 8) % WIDTH;
  for (let y = 60; y < 180; y++) {
    for (let x = x0; x < Math.min(WIDTH, x0 + 40); x++) {
      const o = (y * WIDTH + x) * 3;
      data[o] = 40; // blue
      data[o + 1] = 180; // green
      data[o + 2] = 250; // red
    }
  }
  return { width: WIDTH, height: HEIGHT, format: 'bgr24', data };
}

async function start({ port = 1935, host = '127.0.0.1', logger = silentLogger } = {}) {
  const plugins = new PluginRegistry();
  // The plugins that come with the package, beside its lib/.
  await plugins.loadDirectory(join(dirname(require.resolve('rxrtmp')), '..', 'plugins'));
  const server = createServer({ logger });
  const registry = new LiveRegistry({ gopCache: true });
  const sweep = new RenderedStream(registry.openSource('rendered', 'sweep'), { encoder: plugins.createEncoder('screen-video'), codecId: 3, rate: 25, render });

  server.onConnect({ connect: (_connection, request) => (request.properties.app === 'rendered' ? true : undefined) });
  const ours = (stream) => stream.connection.app === 'rendered';
  server.onStream({
    play(stream, request) {
      if (!ours(stream)) return undefined;
      if (request.streamName !== 'sweep') return { reject: `no stream ${request.streamName}`, code: 'NetStream.Play.StreamNotFound' };
      registry.play('rendered', 'sweep', stream);
      return true;
    },
    playing: (stream) => ours(stream) && registry.startPlaying(stream),
    stop: (stream) => ours(stream) && registry.stop(stream),
    pause: (stream) => ours(stream) && registry.setPaused(stream, true),
    resume: (stream) => ours(stream) && registry.setPaused(stream, false),
  });

  const address = await server.listen({ host, port });
  return {
    port: address.port,
    stats: () => sweep.current,
    close: async () => {
      await server.close();
      await sweep.close();
      await plugins.close();
    },
  };
}

module.exports = { start, render };

if (require.main === module) {
  start({ port: Number(process.env.PORT ?? 1935), host: '0.0.0.0', logger: require('rxrtmp').consoleLogger }).then(({ port }) => console.log(`play rtmp://127.0.0.1:${port}/rendered/sweep`));
}
