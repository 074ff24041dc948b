export * from './database';
export * from './builders';
