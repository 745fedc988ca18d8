import { describe, expect, it } from 'vitest';
import { Digest } from './digest';
import { blobAnswerHeaders, etagOf } from './headers';

describe('blob answer headers', () => {
  it('name the digest, its ETag, byte ranges and a permanent cache lifetime, as name/value pairs', () => {
    const digest = Digest.of('blob');
    const headers = blobAnswerHeaders(digest);
    expect(headers.length % 2).toBe(0);
    const pairs = Object.fromEntries(
      Array.from({ length: headers.length / 2 }, (_, index) => [
        headers[2 * index]?.toLowerCase(),
        headers[2 * index + 1],
      ]),
    );
    expect(pairs).toEqual({
      'docker-content-digest': digest.toString(),
      etag: etagOf(digest),
      'accept-ranges': 'bytes',
      'cache-control': 'max-age=31536000',
      'content-type': 'application/octet-stream',
    });
  });
});
