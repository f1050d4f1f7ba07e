/** `rxrtmp/cluster`: many processes, on one machine or many, serving as one (a subpath, so that `rxrtmp` alone does not load ioredis). */
export { joinCluster, ClusterMember, ClusterOptions, ClusterStatus } from './cluster';
export { StreamDirectory, ClusterNode, StreamClaim, ClaimResult, DirectoryEvent, DirectoryUnavailableError } from './directory';
export { RedisDirectory, RedisDirectoryOptions } from './redis-directory';
export { DirectoryHost, IpcDirectory, DirectoryChannel, DirectoryMessage } from './primary-directory';
export { PullInfo, PullState } from './edge-pull';
export { runWorkerPool, isPoolWorker, WorkerPoolOptions } from '../app/workers';
export { LiveFederation, Refusal } from '../media/registry';
