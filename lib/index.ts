/** rxrtmp's public surface. */
export * as protocol from './protocol';
