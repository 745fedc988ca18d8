import type { Middleware } from 'koa';
import {
  API_VERSION,
  Headers,
  matchRegistryRoute,
  RegistryError,
} from '@dtr-cache/registry-protocol';
import type { DtrServices } from '../services';
import { deleteBlob, getBlob } from './blob-handlers';
import { listCatalog, listTags } from './listing-handlers';
import { listReferrers } from './referrers-handlers';
import { deleteManifest, getManifest, putManifest } from './manifest-handlers';
import { authenticationOf } from './registry-access';
import {
  appendChunk,
  cancelUpload,
  finishUpload,
  startUpload,
  uploadStatus,
} from './upload-handlers';

/** Serves the registry API v2 under `/v2`, dispatching on the protocol library's route table. */
export function registryRouter(services: DtrServices): Middleware {
  return async (ctx, next) => {
    if (ctx.path !== '/v2' && !ctx.path.startsWith('/v2/')) return next();
    ctx.set(Headers.apiVersion, API_VERSION);
    const route = matchRegistryRoute(ctx.path, ctx.method);
    if (!route) throw new RegistryError('NOT_FOUND', undefined, { detail: { path: ctx.path } });
    switch (route.name) {
      case 'base':
        if (authenticationOf(ctx).credentials.kind === 'none') {
          throw services.authenticator.unauthorized(ctx, 'authentication required');
        }
        ctx.body = {};
        return;
      case 'catalog':
        return listCatalog(ctx, services);
      case 'tags':
        return listTags(ctx, services, route.repository);
      case 'referrers':
        return listReferrers(ctx, services, route.repository, route.digest);
      case 'blob':
        return ctx.method === 'DELETE'
          ? deleteBlob(ctx, services, route.repository, route.digest)
          : getBlob(ctx, services, route.repository, route.digest);
      case 'blob-uploads':
        return startUpload(ctx, services, route.repository);
      case 'blob-upload':
        if (ctx.method === 'GET')
          return uploadStatus(ctx, services, route.repository, route.uploadId);
        if (ctx.method === 'PATCH')
          return appendChunk(ctx, services, route.repository, route.uploadId);
        if (ctx.method === 'PUT')
          return finishUpload(ctx, services, route.repository, route.uploadId);
        return cancelUpload(ctx, services, route.repository, route.uploadId);
      case 'manifest':
        if (ctx.method === 'PUT')
          return putManifest(ctx, services, route.repository, route.reference);
        if (ctx.method === 'DELETE')
          return deleteManifest(ctx, services, route.repository, route.reference);
        return getManifest(ctx, services, route.repository, route.reference);
    }
  };
}
