// Events: the publisher (catalog change log and run outbox -> NATS JetStream) and stream set-up.
export { startPublisher, type Publisher, type PublisherOptions, type PublisherStats } from './publisher';
export { ensureStreams, deleteStreams, desiredConfig, type StreamLimits, type EnsuredStreams } from './streams';
export { createManagedNats, type ManagedNats } from './nats-connection';
export { streamSpecs, streamName, normalisePrefix, productSubject, runSubject, CONTENT_TYPES } from './subjects';
export { changeToMessages, stockLowOf } from './messages';
