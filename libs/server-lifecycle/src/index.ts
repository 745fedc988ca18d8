export { listen, stopOnSignals } from './server-lifecycle';
export type { GracefulStopOptions } from './server-lifecycle';
