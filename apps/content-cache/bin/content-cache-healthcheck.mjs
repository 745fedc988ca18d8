#!/usr/bin/env node
// The container health check (tsx): `content-cache-healthcheck [config.yml]`; exit 0 when healthy.
import { register } from 'tsx/esm/api';

register();
await import('../src/healthcheck.ts');
