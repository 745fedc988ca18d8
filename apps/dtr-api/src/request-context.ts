import type { Context, Middleware } from 'koa';
import { type AddressRanges, clientAddressOf } from '@dtr-cache/network';

const CLIENT = 'client';
const SECURE = 'secure';

/**
 * Sets the request's client address (see {@link clientOf}) from the socket's peer and, when that
 * peer is a trusted proxy (`network.trustedproxies`), `X-Forwarded-For`; and whether the client
 * reached DTR over TLS (see {@link isSecure}): this connection, or a trusted proxy's
 * `X-Forwarded-Proto: https` (a load balancer ending TLS in front of the replicas).
 */
export function clientAddress(trustedProxies: AddressRanges): Middleware {
  return (ctx, next) => {
    const peer = ctx.req.socket.remoteAddress;
    ctx.state[CLIENT] = clientAddressOf(
      peer,
      ctx.get('X-Forwarded-For') || undefined,
      trustedProxies,
    );
    ctx.state[SECURE] =
      ctx.secure ||
      (peer !== undefined &&
        trustedProxies.contains(peer) &&
        ctx.get('X-Forwarded-Proto').split(',')[0]?.trim().toLowerCase() === 'https');
    // The cookie jar refuses `Secure` cookies on a plain connection unless told it is secure.
    if (ctx.state[SECURE] && !ctx.secure) ctx.cookies.secure = true;
    return next();
  };
}

/** Whether the client reached DTR over TLS, as {@link clientAddress} found it (cookies' `Secure`). */
export function isSecure(ctx: Context): boolean {
  return (ctx.state[SECURE] as boolean | undefined) ?? ctx.secure;
}

/** The client address of a request, as {@link clientAddress} found it (for throttling and logs). */
export function clientOf(ctx: Context): string {
  return (ctx.state[CLIENT] as string | undefined) ?? 'unknown';
}
