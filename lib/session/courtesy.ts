import { baseName } from './names';
import type { Command } from '../protocol/commands';
import { NetCommand, status } from '../protocol/net-commands';

/** Commands clients send out of habit (FMS and Wowza answer them) that need no application: release, FC*, bandwidth. */
export type CourtesyCommand = Extract<NetCommand, { kind: 'releaseStream' | 'FCPublish' | 'FCUnpublish' | 'FCSubscribe' | 'getStreamLength' | 'checkBandwidth' }>;

const FC_EVENTS = {
  FCPublish: ['onFCPublish', 'NetStream.Publish.Start'],
  FCUnpublish: ['onFCUnpublish', 'NetStream.Unpublish.Success'],
  FCSubscribe: ['onFCSubscribe', 'NetStream.Play.Start'],
} as const;

export function isCourtesyCommand(net: NetCommand): net is CourtesyCommand {
  return net.kind === 'releaseStream' || net.kind === 'checkBandwidth' || net.kind === 'getStreamLength' || net.kind in FC_EVENTS;
}

/** What the server sends back, in order: an FC* event, then `_result` when the client asked with a transaction. */
export function courtesyAnswers(net: CourtesyCommand): Command[] {
  const answers: Command[] = [];
  if (net.kind === 'FCPublish' || net.kind === 'FCUnpublish' || net.kind === 'FCSubscribe') {
    const [name, code] = FC_EVENTS[net.kind];
    answers.push({ name, transactionId: 0, commandObject: null, args: [status(code, baseName(net.streamName))] });
  }
  if (net.kind === 'getStreamLength') answers.push({ name: '_result', transactionId: net.transactionId, commandObject: null, args: [0] });
  else if (net.transactionId > 0) answers.push({ name: '_result', transactionId: net.transactionId, commandObject: null, args: [undefined] });
  return answers;
}
