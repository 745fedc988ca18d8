export { BlobFill } from './blob-fill';
export { isDiskFull } from './disk-space';
export { InFlightFills } from './in-flight-fills';
export {
  type FillContext,
  type PassThrough,
  UpstreamPassThrough,
  VerifyingPassThrough,
} from './pass-through';
export type { FillClaim, FillCoordination, SharedFill } from './shared-fill';
