import { RegistryError } from './registry-error';

/** An inclusive byte range, as HTTP writes it. */
export interface ByteRange {
  readonly start: number;
  readonly end: number;
}

/** What a `Range` header asks of a resource of known size. */
export type RangeRequest =
  | { readonly kind: 'full' }
  | { readonly kind: 'partial'; readonly range: ByteRange }
  | { readonly kind: 'unsatisfiable' };

const SINGLE_RANGE = /^bytes=(\d*)-(\d*)$/;

/**
 * Interprets a `Range` header for a resource of `size` bytes (RFC 9110 §14). Only a single
 * `bytes` range is honoured; a missing, malformed or multi-range header means the full content
 * (a server may ignore Range). `bytes=a-b`, `bytes=a-` and the suffix form `bytes=-n` are
 * supported; the end is clamped to the last byte.
 */
export function parseRangeHeader(header: string | undefined, size: number): RangeRequest {
  if (header === undefined) return { kind: 'full' };
  const match = SINGLE_RANGE.exec(header.trim());
  if (!match) return { kind: 'full' };
  const [, first = '', last = ''] = match;
  if (first === '' && last === '') return { kind: 'full' };
  if (first === '') {
    const suffixLength = Number(last);
    if (!Number.isSafeInteger(suffixLength)) return { kind: 'full' };
    if (suffixLength === 0 || size === 0) return { kind: 'unsatisfiable' };
    return { kind: 'partial', range: { start: Math.max(0, size - suffixLength), end: size - 1 } };
  }
  const start = Number(first);
  const end = last === '' ? Number.MAX_SAFE_INTEGER : Number(last);
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || end < start) {
    return { kind: 'full' };
  }
  if (start >= size) return { kind: 'unsatisfiable' };
  return { kind: 'partial', range: { start, end: Math.min(end, size - 1) } };
}

/** `Content-Range` value of a partial response: `bytes start-end/size`. */
export function formatContentRange(range: ByteRange, size: number): string {
  return `bytes ${range.start}-${range.end}/${size}`;
}

/** The `RANGE_INVALID` (416) error for an unsatisfiable range, with `Content-Range: bytes *\/size`. */
export function rangeNotSatisfiable(size: number): RegistryError {
  return new RegistryError('RANGE_INVALID', 'requested range not satisfiable', {
    detail: { size },
    headers: { 'Content-Range': `bytes */${size}` },
  });
}

/** True if `range` (inclusive; none means the whole blob) lies within a blob of `size` bytes. */
export function isRangeWithin(range: ByteRange | undefined, size: number): boolean {
  return range === undefined || (range.start >= 0 && range.start <= range.end && range.end < size);
}

/** Number of bytes in an inclusive range. */
export function rangeLength(range: ByteRange): number {
  return range.end - range.start + 1;
}
