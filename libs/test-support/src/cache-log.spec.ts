import { describe, expect, it } from 'vitest';
import { blobRequests, getResults } from './cache-log';

const digest = `sha256:${'a'.repeat(64)}`;
const other = `sha256:${'b'.repeat(64)}`;
const lines = [
  'time=t level=info msg=listening addr=127.0.0.1:5000',
  `time=t level=info msg="blob request" method=HEAD repo=r/a digest=${digest} cache=head status=200`,
  `time=t level=info msg="blob request" method=GET repo=r/a digest=${digest} cache=miss status=200`,
  `time=t level=info msg="blob request" method=GET repo=r/a digest=${other} cache=miss status=200`,
  `time=t level=info msg="blob request" method=GET repo=r/a digest=${digest} cache=hit status=200`,
];

describe('cache log lines', () => {
  it('reads method, digest and result of blob requests only', () => {
    expect(blobRequests(lines)).toHaveLength(4);
    expect(blobRequests(lines)[0]).toEqual({ method: 'HEAD', digest, cache: 'head' });
  });

  it("lists one digest's GET results in order", () => {
    expect(getResults(lines, digest)).toEqual(['miss', 'hit']);
    expect(getResults(lines, other)).toEqual(['miss']);
    expect(getResults(lines, `sha256:${'c'.repeat(64)}`)).toEqual([]);
  });
});
