import test from 'ava';
import { DEFAULT_SHAPE, soak } from '../../scripts/soak';

// `npm run soak` runs for 30 minutes and judges memory; this is its short form, which
// cannot judge memory in 30 s of traffic but does judge what the churn leaves behind.
test.serial('after 30 s of churn (publishes, plays, calls, web viewers, real and hostile peers) the server holds no socket, timer or file more than before the first client', async (t) => {
  t.timeout(240_000);
  const lines: string[] = [];
  const report = await soak({ minutes: 0.5, warmupMinutes: 0.1, sampleSeconds: 5, shape: { ...DEFAULT_SHAPE, players: 8 }, print: (line) => lines.push(line) });
  t.log(lines.filter((line) => !/^\s+\d/.test(line)).join('\n'));
  t.true(report.counts.publishes > 0 && report.counts.plays > 0 && report.counts.calls > 0 && report.counts.realPeers > 0 && report.counts.webViewers > 0 && report.counts.hostile > 0, JSON.stringify(report.counts));
  t.true(report.counts.mediaMessagesReceived > 0);
  t.true(report.samples.some((s) => s.connections > 5), 'connections were open at once');
  t.deepEqual(report.leftBehind, {});
  t.true(report.after.openFiles <= report.before.openFiles, `${report.before.openFiles} open files before, ${report.after.openFiles} after`);
  t.is(report.after.connections, 0);
  t.deepEqual(report.counts.failures, []);
  t.is(report.serverLog.error, 0, report.serverLog.lastErrors.join('\n'));
});
