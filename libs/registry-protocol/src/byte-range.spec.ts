import { describe, expect, it } from 'vitest';
import {
  formatContentRange,
  isRangeWithin,
  parseRangeHeader,
  rangeNotSatisfiable,
} from './byte-range';

describe('parseRangeHeader', () => {
  it.each([
    [undefined, 100, { kind: 'full' }],
    ['bytes=0-9', 100, { kind: 'partial', range: { start: 0, end: 9 } }],
    ['bytes=90-', 100, { kind: 'partial', range: { start: 90, end: 99 } }],
    ['bytes=90-500', 100, { kind: 'partial', range: { start: 90, end: 99 } }],
    ['bytes=-10', 100, { kind: 'partial', range: { start: 90, end: 99 } }],
    ['bytes=-500', 100, { kind: 'partial', range: { start: 0, end: 99 } }],
    ['bytes=99-99', 100, { kind: 'partial', range: { start: 99, end: 99 } }],
    ['bytes=100-', 100, { kind: 'unsatisfiable' }],
    ['bytes=100-200', 100, { kind: 'unsatisfiable' }],
    ['bytes=-0', 100, { kind: 'unsatisfiable' }],
    ['bytes=0-', 0, { kind: 'unsatisfiable' }],
    ['bytes=-5', 0, { kind: 'unsatisfiable' }],
    ['bytes=5-1', 100, { kind: 'full' }],
    ['bytes=0-1,5-6', 100, { kind: 'full' }],
    ['items=0-1', 100, { kind: 'full' }],
    ['bytes=-', 100, { kind: 'full' }],
    ['bytes=abc', 100, { kind: 'full' }],
    ['bytes=99999999999999999999-', 100, { kind: 'full' }],
  ])('%s of %i bytes', (header, size, expected) => {
    expect(parseRangeHeader(header, size)).toEqual(expected);
  });

  it('formats Content-Range and the 416 error', () => {
    expect(formatContentRange({ start: 0, end: 9 }, 100)).toBe('bytes 0-9/100');
    const error = rangeNotSatisfiable(100);
    expect(error.status).toBe(416);
    expect(error.code).toBe('RANGE_INVALID');
    expect(error.headers['Content-Range']).toBe('bytes */100');
  });
});

describe('isRangeWithin', () => {
  it.each([
    [undefined, 100, true],
    [{ start: 0, end: 99 }, 100, true],
    [{ start: 99, end: 99 }, 100, true],
    [{ start: 0, end: 100 }, 100, false],
    [{ start: -1, end: 5 }, 100, false],
    [{ start: 6, end: 5 }, 100, false],
    [{ start: 0, end: 0 }, 0, false],
  ])('%j in %i bytes: %s', (range, size, within) => {
    expect(isRangeWithin(range, size)).toBe(within);
  });
});
