/**
 * AMF3 codec. AMF3 messages carry three per-message reference tables (strings,
 * objects, traits), so one reader or writer context lives for exactly one message:
 * `decodeAmf3`/`encodeAmf3` share it across every value of the message, while
 * `readAmf3Value`/`writeAmf3Value` start fresh because AMF0's switch-to-AMF3 marker
 * begins a new AMF3 context for each value.
 */
export { decodeAmf3, readAmf3Value } from './amf3-reader';
export { encodeAmf3, writeAmf3Value } from './amf3-writer';
