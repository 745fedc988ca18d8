import { ConfigError, loadConfig } from '@dtr-cache/config';
import { describe, expect, it } from 'vitest';
import { buildGarbageCollectionConfig, garbageCollectionSchema } from './gc-config';

// The section as DTR's schema carries it, under `garbagecollection`.
const definition = {
  envPrefix: 'DTR_API',
  schema: { garbagecollection: garbageCollectionSchema() },
  build: (values: { garbagecollection: Parameters<typeof buildGarbageCollectionConfig>[0] }) =>
    buildGarbageCollectionConfig(values.garbagecollection),
};
const load = (text: string, env: Record<string, string> = {}) =>
  loadConfig(definition, { text, env });

describe('the garbagecollection section', () => {
  it('has no schedule and an hour of grace by default', () => {
    const config = load('{}');
    expect(config.schedule).toBeUndefined();
    expect(config.grace).toMatchObject({ text: '1h', milliseconds: 3_600_000 });
  });

  it('takes a schedule and a grace period, from the file or the environment', () => {
    const config = load('garbagecollection: { schedule: 24h, grace: 30m }');
    expect(config.schedule?.milliseconds).toBe(86_400_000);
    expect(config.grace.milliseconds).toBe(1_800_000);
    expect(load('{}', { DTR_API_GARBAGECOLLECTION_SCHEDULE: '6h' }).schedule?.text).toBe('6h');
  });

  it('refuses what is not a duration, naming the key', () => {
    expect(() => load('garbagecollection: { schedule: daily }')).toThrow(ConfigError);
    expect(() => load('garbagecollection: { grace: -1h }')).toThrow('garbagecollection.grace');
  });
});
