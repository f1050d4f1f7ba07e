import test from 'ava';
import { RtmpClient } from '../../lib/client';
import { decodeData } from '../../lib/protocol/commands';
import { MessageType, RtmpMessage } from '../../lib/protocol/message';
import { chunkBytes, decodeInPieces } from '../helpers/fixtures';
import { startNginx } from '../helpers/nginx';

/** ffmpeg's recorded publish: metadata, AAC and AVC sequence headers, then frames. */
const recorded = decodeInPieces(chunkBytes('ffmpeg-publish-h264-aac.c2s'));
const metadata = recorded.find((m) => m.typeId === MessageType.DataAmf0)!;
const isVideo = (m: RtmpMessage): boolean => m.typeId === MessageType.Video;
const isAudio = (m: RtmpMessage): boolean => m.typeId === MessageType.Audio;
/** Media up to the 40th video message: the sequence headers, the first key frame and inter frames after it. */
const firstMedia = ((): RtmpMessage[] => {
  const media = recorded.filter((m) => isVideo(m) || isAudio(m));
  const lastVideo = media.filter(isVideo)[39]!;
  return media.slice(0, media.indexOf(lastVideo) + 1);
})();
const hex = (m: RtmpMessage): string => m.payload.toString('hex');

async function until(condition: () => boolean, timeout = 3_000): Promise<void> {
  for (const end = Date.now() + timeout; !condition() && Date.now() < end; ) await new Promise((resolve) => setTimeout(resolve, 10));
}

test.serial('our client connects to nginx-rtmp and creates a stream', async (t) => {
  const nginx = await startNginx();
  let client: RtmpClient | undefined;
  try {
    client = await RtmpClient.connect(nginx.liveUrl, { timeout: 5_000 });
    t.like(client.connectInfo, { level: 'status', code: 'NetConnection.Connect.Success' });
    t.like(client.serverProperties, { fmsVer: 'FMS/3,0,1,123' }, 'nginx-rtmp names itself FMS 3.0.1');
    const stream = await client.createStream();
    t.true(stream.id > 0);
  } finally {
    await client?.close();
    await nginx.stop();
  }
});

test.serial('a stream published by our client through nginx-rtmp plays back byte for byte in our client', async (t) => {
  const nginx = await startNginx();
  const clients: RtmpClient[] = [];
  try {
    const connect = async (): Promise<RtmpClient> => {
      const client = await RtmpClient.connect(nginx.liveUrl, { timeout: 5_000 });
      clients.push(client);
      return client;
    };
    // The player first, so nginx relays everything from the first message on.
    const player = await connect();
    const playing = await player.createStream();
    const received: RtmpMessage[] = [];
    playing.media$.subscribe((m) => received.push({ ...m, payload: Buffer.from(m.payload) }));
    t.like(await playing.play('fixture'), { code: 'NetStream.Play.Start' });

    const publisher = await connect();
    const publishing = await publisher.createStream();
    t.like(await publishing.publish('fixture'), { code: 'NetStream.Publish.Start' });
    const { name, values } = decodeData(metadata.typeId, metadata.payload);
    t.is(name, '@setDataFrame');
    publishing.sendData(name, values);
    for (const message of firstMedia) publishing.sendMedia(message);

    const sentVideo = firstMedia.filter(isVideo);
    const lastVideo = hex(sentVideo[sentVideo.length - 1]!);
    await until(() => received.some((m) => isVideo(m) && hex(m) === lastVideo));

    const video = received.filter(isVideo).map(hex);
    const sequenceHeader = hex(sentVideo[0]!);
    t.is(sentVideo[0]!.payload.subarray(0, 2).toString('hex'), '1700', 'the fixture opens with the AVC sequence header');
    t.is(video[0], sequenceHeader, `nginx sends the sequence header first\n${nginx.log()}`);
    const sentSet = new Set(sentVideo.map(hex));
    t.true(video.every((p) => sentSet.has(p)), 'every video payload received is one that was published');
    const frames = video.filter((p) => p !== sequenceHeader);
    t.true(frames.length >= 30, `most frames arrived (${frames.length} of ${sentVideo.length - 1})`);
    t.is(frames[frames.length - 1], lastVideo);

    const sentAudio = new Set(firstMedia.filter(isAudio).map(hex));
    const audio = received.filter(isAudio).map(hex);
    t.true(audio.length > 0 && audio.every((p) => sentAudio.has(p)), 'audio payloads are published ones');
    const meta = received.find((m) => m.typeId === MessageType.DataAmf0 && decodeData(m.typeId, m.payload).name === 'onMetaData');
    t.truthy(meta, 'nginx relays the metadata as onMetaData');
    t.like(decodeData(meta!.typeId, meta!.payload).values[0], { width: 640, height: 360 });
  } finally {
    await Promise.all(clients.map((c) => c.close()));
    await nginx.stop();
  }
});
