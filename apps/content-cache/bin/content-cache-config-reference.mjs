#!/usr/bin/env node
// Prints the configuration reference generated from the schema (tsx).
import { register } from 'tsx/esm/api';

register();
await import('../src/config-reference.ts');
