#!/usr/bin/env node
// Runs dtr-api from its TypeScript sources (tsx), e.g. `dtr-api --config /etc/dtr/config.yml`.
import { register } from 'tsx/esm/api';

register();
await import('../src/main.ts');
