import test from 'ava';
import { execFile } from 'node:child_process';
import { createServer, ConnectRequest, NetStream, RtmpServer, silentLogger } from '../../lib';
import { installDemo } from '../../lib/demo/demo-app';
import { decodeData, metadataFromSetDataFrame } from '../../lib/protocol/commands';
import { MessageType } from '../../lib/protocol/message';
import { chunkBytes, decodeInPieces } from '../helpers/fixtures';

function run(command: string, args: string[], timeout = 20_000): Promise<{ output: string; code: number | null }> {
  return new Promise((resolve) => {
    execFile(command, args, { timeout }, (error, stdout, stderr) =>
      resolve({ output: `${stdout}${stderr}`, code: error ? ((error as { code?: number }).code ?? -1) : 0 }),
    );
  });
}

async function serve(): Promise<{ server: RtmpServer; port: number }> {
  const server = createServer({ logger: silentLogger });
  const { port } = await server.listen({ host: '127.0.0.1', port: 0 });
  return { server, port };
}

/** The recorded ffmpeg publish session: metadata, sequence headers and 4 s of H.264 + AAC. */
const recorded = decodeInPieces(chunkBytes('ffmpeg-publish-h264-aac.c2s'));

/** Plays the recorded media into a stream, as an application with already-encoded data would. */
function playRecording(stream: NetStream): void {
  for (const message of recorded) {
    if (message.typeId === MessageType.DataAmf0) {
      const metadata = metadataFromSetDataFrame(decodeData(message.typeId, message.payload));
      if (metadata) stream.sendData(metadata.name, metadata.values);
    } else if (message.typeId === MessageType.Audio || message.typeId === MessageType.Video) {
      stream.sendMedia(message.typeId, message.timestamp, message.payload);
    }
  }
}

test('rtmpdump connects to demo with -C arguments that reach the connect handler', async (t) => {
  const { server, port } = await serve();
  const requests: ConnectRequest[] = [];
  server.onConnect({ connect: (_c, request) => void requests.push(request) });
  installDemo(server);
  try {
    await run('rtmpdump', ['-r', `rtmp://127.0.0.1:${port}/demo/x`, '-C', 'S:alice', '-C', 'N:42.5', '-C', 'B:1', '-C', 'O:1', '-C', 'NS:room:lobby', '-C', 'O:0', '-o', '/dev/null', '-m', '2']);
    t.is(requests.length, 1);
    t.deepEqual(requests[0]!.args, ['alice', 42.5, true, { room: 'lobby' }]);
    t.is(requests[0]!.properties.app, 'demo');
  } finally {
    await server.close();
  }
});

test('ffprobe (digest handshake) plays an application stream and sees H.264 640x360 and AAC', async (t) => {
  const { server, port } = await serve();
  const states = new Set<string>();
  server.onConnect({ connect: () => true });
  server.connections$.subscribe((c) => c.state$.subscribe((s) => states.add(s)));
  server.onStream({
    play(stream, request) {
      if (request.streamName !== 'recorded') return { reject: `no ${request.streamName}`, code: 'NetStream.Play.StreamNotFound' };
      setImmediate(() => playRecording(stream));
      return true;
    },
  });
  try {
    const { output } = await run('ffprobe', ['-v', 'error', '-rw_timeout', '5000000', '-show_entries', 'stream=codec_name,width,height,sample_rate', '-of', 'json', `rtmp://127.0.0.1:${port}/app/recorded`]);
    const streams = (JSON.parse(output) as { streams: Array<Record<string, unknown>> }).streams;
    t.like(streams.find((s) => s.codec_name === 'h264'), { width: 640, height: 360 });
    t.like(streams.find((s) => s.codec_name === 'aac'), { sample_rate: '44100' });
    t.true(states.has('streaming'), [...states].join(','));
  } finally {
    await server.close();
  }
});

test('ffmpeg copies an application stream to FLV with all 120 frames', async (t) => {
  const { server, port } = await serve();
  server.onConnect({ connect: () => true });
  let stopped = 0;
  server.onStream({
    play(stream) {
      setImmediate(() => {
        playRecording(stream);
        stream.connection.stopPlaying(stream, 'recording ended');
      });
      return true;
    },
    stop: () => void stopped++,
  });
  try {
    const { output } = await run('ffmpeg', ['-hide_banner', '-rw_timeout', '5000000', '-i', `rtmp://127.0.0.1:${port}/app/recorded`, '-c', 'copy', '-f', 'framemd5', '-']);
    const videoFrames = output.split('\n').filter((l) => /^0,/.test(l)).length;
    t.true(videoFrames >= 119, `ffmpeg wrote ${videoFrames} video frames:\n${output.slice(-2000)}`);
    t.is(stopped, 1);
  } finally {
    await server.close();
  }
});

test('ffmpeg is told StreamNotFound for a stream no handler accepts and exits with an error', async (t) => {
  const { server, port } = await serve();
  server.onConnect({ connect: () => true });
  try {
    const { output, code } = await run('ffmpeg', ['-hide_banner', '-rw_timeout', '5000000', '-i', `rtmp://127.0.0.1:${port}/app/missing`, '-f', 'null', '-']);
    t.not(code, 0);
    t.regex(output, /StreamNotFound|Stream missing not found/);
  } finally {
    await server.close();
  }
});
