import type { Context, Middleware } from 'koa';
import { type AddressRanges, clientAddressOf } from '@dtr-cache/network';

const CLIENT = 'client';

/**
 * Sets the request's client address (see {@link clientOf}) from the socket's peer and, when that
 * peer is a trusted proxy (`network.trustedproxies`), `X-Forwarded-For`.
 */
export function clientAddress(trustedProxies: AddressRanges): Middleware {
  return (ctx, next) => {
    ctx.state[CLIENT] = clientAddressOf(
      ctx.req.socket.remoteAddress,
      ctx.get('X-Forwarded-For') || undefined,
      trustedProxies,
    );
    return next();
  };
}

/** The client address of a request, as {@link clientAddress} found it (for throttling and logs). */
export function clientOf(ctx: Context): string {
  return (ctx.state[CLIENT] as string | undefined) ?? 'unknown';
}
