#!/usr/bin/env node
// Runs the content cache from its TypeScript sources (tsx): `content-cache /config.yml`.
import { register } from 'tsx/esm/api';

register();
await import('../src/main.ts');
