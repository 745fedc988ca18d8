import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Layout, layoutFromEnv } from './topology';

/** Where the compose services find the shared volumes. */
export const CERTS = '/certs';
export const CONFIG = '/config';

/** The compose topology's addresses (host network), from the same variables as docker-compose.yml. */
export const composeLayout = (env: Readonly<Record<string, string | undefined>>): Layout =>
  layoutFromEnv(env, '127.0.0.20');

/**
 * Which control plane the compose project runs: `single` (the default profile: one DTR on SQLite)
 * or `ha` (the `ha` profile: PostgreSQL, three DTR replicas and nginx at DTR's address).
 */
export type ComposeMode = 'single' | 'ha';

/** Where the setup step records the mode it configured, for the init step and the HA services. */
export const MODE_FILE = join(CONFIG, 'mode');

/**
 * The mode COMPOSE_PROFILES asks for: `ha` when it names the `ha` profile (or `*`, every profile).
 * It is the variable docker compose itself reads, passed through to the setup step.
 */
export function requestedMode(env: Readonly<Record<string, string | undefined>>): ComposeMode {
  const profiles = (env['COMPOSE_PROFILES'] ?? '').split(',').map((profile) => profile.trim());
  return profiles.includes('ha') || profiles.includes('*') ? 'ha' : 'single';
}

/**
 * The mode a previous setup run configured in the `config` volume: what {@link MODE_FILE} says;
 * `single` for a volume of a release without that file (it has the passwords); none when new.
 */
export function configuredMode(): ComposeMode | undefined {
  if (existsSync(MODE_FILE)) return readFileSync(MODE_FILE, 'utf8').trim() as ComposeMode;
  return existsSync(join(CONFIG, 'credentials.json')) ? 'single' : undefined;
}
