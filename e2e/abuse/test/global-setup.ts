import { rm } from 'node:fs/promises';
import { REPORT_FILE } from './abuse-report';

/** A run starts its report afresh. */
export default async function setup(): Promise<void> {
  await rm(REPORT_FILE, { force: true });
}
