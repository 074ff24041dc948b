export * from './queue.names';
export * from './job-queue.adapter';
export * from './timer-scheduler';
