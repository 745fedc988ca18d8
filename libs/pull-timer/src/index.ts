export type { BlobTiming, PullOptions, PullTarget, PullTiming } from './types';
export { PullError } from './pull-error';
export type { PullFailure } from './pull-error';
export { timePull } from './time-pull';
