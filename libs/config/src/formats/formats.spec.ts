import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseByteSize } from './byte-size';
import { formatDuration, parseDuration } from './duration';
import { formatListenAddress, parseListenAddress } from './listen-address';
import { parseHttpUrl } from './url';

describe('parseDuration', () => {
  it.each([
    ['24h', 86_400_000],
    ['90m', 5_400_000],
    ['30s', 30_000],
    ['250ms', 250],
    ['1500us', 1.5],
    ['1500µs', 1.5],
    ['2000000ns', 2],
    ['2000000', 2],
    [86_400_000_000_000, 86_400_000],
    ['1h30m', 5_400_000],
  ])('%s is %d ms', (value, milliseconds) => {
    expect(parseDuration(value).milliseconds).toBe(milliseconds);
  });

  it('treats a number without unit as nanoseconds, exactly', () => {
    expect(parseDuration('1').nanoseconds).toBe(1n);
    expect(parseDuration('86400000000000').nanoseconds).toBe(86_400_000_000_000n);
  });

  it.each(['24x', '', 'h', '-5s', '1.5h', '24 h', '0', '0s', 'forever', null, true, 1.5, [], {}])(
    'rejects %j',
    (value) => {
      expect(() => parseDuration(value)).toThrow(
        /is not a duration \(use ns, us, ms, s, m or h\)|must be a positive duration/,
      );
    },
  );

  it('names the bad value and the units', () => {
    expect(() => parseDuration('24x')).toThrow(
      '"24x" is not a duration (use ns, us, ms, s, m or h)',
    );
  });

  it('parses every integer with every unit exactly (property)', () => {
    const units: Array<[string, bigint]> = [
      ['ns', 1n],
      ['us', 1_000n],
      ['ms', 1_000_000n],
      ['s', 1_000_000_000n],
      ['m', 60_000_000_000n],
      ['h', 3_600_000_000_000n],
      ['', 1n],
    ];
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 1_000_000 }),
        fc.constantFrom(...units),
        (amount, [unit, size]) => {
          expect(parseDuration(`${amount}${unit}`).nanoseconds).toBe(BigInt(amount) * size);
        },
      ),
    );
  });

  it('formats milliseconds back to a duration that parses to the same value (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 10 ** 9 }), (milliseconds) => {
        expect(parseDuration(formatDuration(milliseconds)).milliseconds).toBe(milliseconds);
      }),
    );
    expect(formatDuration(86_400_000)).toBe('24h');
  });
});

describe('parseByteSize', () => {
  it.each([
    [1024, 1024],
    ['1024', 1024],
    ['10GiB', 10 * 2 ** 30],
    ['500MB', 500e6],
    ['1.5 KiB', 1536],
    ['2tb', 2e12],
    ['0', 0],
  ])('%s is %d bytes', (value, bytes) => expect(parseByteSize(value)).toBe(bytes));

  it.each(['10 GB GB', '-1', 'lots', '10XB', null, '99999999999TiB'])('rejects %j', (value) => {
    expect(() => parseByteSize(value)).toThrow(/byte size|too large/);
  });
});

describe('parseHttpUrl', () => {
  it('accepts absolute http(s) URLs and drops a trailing slash', () => {
    expect(parseHttpUrl('https://dtr.example.com/').href).toBe('https://dtr.example.com/');
    expect(parseHttpUrl('http://10.0.0.1:5000/prefix/').href).toBe('http://10.0.0.1:5000/prefix');
  });

  it.each([
    ['ftp://x', /scheme ftp/],
    ['dtr.example.com', /not an absolute http/],
    ['https://user:pw@dtr', /credentials/],
    ['https://dtr/?a=1', /query or fragment/],
    ['https://dtr/#x', /query or fragment/],
    ['', /not an absolute/],
    [5000, /not an absolute/],
  ])('rejects %j', (value, message) => expect(() => parseHttpUrl(value)).toThrow(message));
});

describe('parseListenAddress', () => {
  it.each([
    [':5000', { kind: 'tcp', host: undefined, port: 5000 }],
    ['127.0.0.1:5000', { kind: 'tcp', host: '127.0.0.1', port: 5000 }],
    ['[::1]:5000', { kind: 'tcp', host: '::1', port: 5000 }],
    ['localhost:443', { kind: 'tcp', host: 'localhost', port: 443 }],
    ['0.0.0.0:0', { kind: 'tcp', host: '0.0.0.0', port: 0 }],
  ])('parses %s', (text, expected) => {
    expect(parseListenAddress(text)).toEqual(expected);
    expect(formatListenAddress(parseListenAddress(text))).toBe(text);
  });

  it.each([
    '5000',
    ':',
    ':65536',
    ':-1',
    'host:port',
    '[::1:5000',
    '[zz]:80',
    'bad_host:80',
    ':5000x',
  ])('rejects %s', (text) => {
    expect(() => parseListenAddress(text)).toThrow(/listen address/);
  });

  it('takes an absolute socket path for unix', () => {
    expect(parseListenAddress('/run/cache.sock', 'unix')).toEqual({
      kind: 'unix',
      path: '/run/cache.sock',
    });
    expect(() => parseListenAddress('cache.sock', 'unix')).toThrow(/absolute unix socket path/);
  });
});
