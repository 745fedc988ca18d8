export { BlobFill } from './blob-fill';
export { isDiskFull } from './disk-space';
export { InFlightFills } from './in-flight-fills';
export { type FillContext, type PassThrough, UpstreamPassThrough } from './pass-through';
export type { FillClaim, FillCoordination, SharedFill } from './shared-fill';
