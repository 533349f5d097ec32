/** Controller runtime: client, informers, work queues, controllers, leader election, probes. */
export * from './resources';
export * from './errors';
export * from './client';
export * from './informer';
export * from './workqueue';
export * from './controller';
export * from './conditions';
export * from './status';
export * from './expectations';
export * from './own-writes';
export * from './objects';
export * from './metrics';
export * from './logger';
export { TokenBucket, Backoff, sleep } from './ratelimit';
export * from './events';
export * from './leader';
export * from './probes';
export * from './manager';
