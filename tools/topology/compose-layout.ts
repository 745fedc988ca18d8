import { type Layout, layoutFromEnv } from './topology';

/** Where the compose services find the shared volumes. */
export const CERTS = '/certs';
export const CONFIG = '/config';

/** The compose topology's addresses (host network), from the same variables as docker-compose.yml. */
export const composeLayout = (env: Readonly<Record<string, string | undefined>>): Layout =>
  layoutFromEnv(env, '127.0.0.20');
