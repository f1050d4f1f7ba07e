import test from 'ava';
import { courtesyAnswers, isCourtesyCommand } from '../../lib/session/courtesy';

test('FCPublish is answered with onFCPublish, then _result when the client gave a transaction', (t) => {
  const answers = courtesyAnswers({ kind: 'FCPublish', transactionId: 4, streamName: 'cam' });
  t.deepEqual(answers.map((a) => [a.name, a.transactionId]), [['onFCPublish', 0], ['_result', 4]]);
  t.like(answers[0]!.args[0], { code: 'NetStream.Publish.Start', description: 'cam' });
});

test('a courtesy command with transaction 0 gets no _result; getStreamLength answers 0', (t) => {
  t.deepEqual(courtesyAnswers({ kind: 'releaseStream', transactionId: 0, streamName: 'cam' }), []);
  t.deepEqual(courtesyAnswers({ kind: 'checkBandwidth', transactionId: 3 }).map((a) => a.args), [[undefined]]);
  t.deepEqual(courtesyAnswers({ kind: 'getStreamLength', transactionId: 5, streamName: 'cam' }).map((a) => [a.name, a.args]), [['_result', [0]]]);
});

test('only those commands are courtesy commands', (t) => {
  t.true(isCourtesyCommand({ kind: 'FCUnpublish', transactionId: 1, streamName: 'x' }));
  t.false(isCourtesyCommand({ kind: 'close' }));
  t.false(isCourtesyCommand({ kind: 'call', procedure: 'FCPublish', transactionId: 1, commandObject: null, args: [] }));
});
