/** Nest injection tokens for the api's infrastructure. */
export const CONFIG = 'CONFIG';
export const PG_POOL = 'PG_POOL';
export const EVENT_STORE = 'EVENT_STORE';
export const REDIS = 'REDIS';
export const CLOCK = 'CLOCK';
export const KEY_VAULT = 'KEY_VAULT';
