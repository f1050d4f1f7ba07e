import { MessageType, RtmpMessage } from '../protocol/message';

/** Predicates that split one connection's messages by kind, for `filter()`. */
export const isControlMessage = (message: RtmpMessage): boolean => message.typeId >= 1 && message.typeId <= 6;
export const isCommandMessage = (message: RtmpMessage): boolean =>
  message.typeId === MessageType.CommandAmf0 || message.typeId === MessageType.CommandAmf3;
export const isDataMessage = (message: RtmpMessage): boolean =>
  message.typeId === MessageType.DataAmf0 || message.typeId === MessageType.DataAmf3;
export const isMediaMessage = (message: RtmpMessage): boolean =>
  message.typeId === MessageType.Audio || message.typeId === MessageType.Video || message.typeId === MessageType.Aggregate;
