export { deadUrl, freePort } from './ports';
export { processTree, procStatFields } from './process-tree';
export { httpsGet, type HttpsAnswer } from './https-get';
export { generateCertificates } from './certificates';
export { writeOciImage, type OciImage } from './oci-image';
export { blobRequests, getResults, type BlobRequestLine } from './cache-log';
export {
  answerOf,
  basic,
  startTopology,
  workspaceRoot,
  type Answer,
  type Endpoints,
  type RunningTopology,
  type User,
} from './topology';
export { POSTGRES_PASSWORD, startPostgres, type PostgresServer } from './postgres-server';
export {
  startCacheFleet,
  type FleetCache,
  type FleetOptions,
  type OriginTraffic,
  type RunningFleet,
} from './cache-fleet';
