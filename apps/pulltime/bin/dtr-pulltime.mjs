#!/usr/bin/env node
// Runs dtr-pulltime from its TypeScript sources (tsx), e.g.
// `dtr-pulltime --dtr https://dtr.example.com --user alice --image org/app:tag`. Not a server:
// one process, no launcher.
import { register } from 'tsx/esm/api';

register();
await import('../src/main.ts');
