import { show } from '../config-error';

const UNITS: Readonly<Record<string, number>> = {
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  tb: 1e12,
  kib: 2 ** 10,
  mib: 2 ** 20,
  gib: 2 ** 30,
  tib: 2 ** 40,
};

const BYTE_SIZE = /^(\d+(?:\.\d+)?)\s*([kmgt]i?b|b)?$/i;

/**
 * Parses a byte size: a non-negative integer of bytes, or a number with a unit — decimal
 * `KB`, `MB`, `GB`, `TB` or binary `KiB`, `MiB`, `GiB`, `TiB` (case-insensitive).
 * @throws Error naming the value and the accepted units.
 */
export function parseByteSize(value: unknown): number {
  const text =
    typeof value === 'number' ? String(value) : typeof value === 'string' ? value.trim() : '';
  const match = BYTE_SIZE.exec(text);
  if (!match) {
    throw new Error(
      `${show(value)} is not a byte size (e.g. 500MB or 10GiB; units B, KB, MB, GB, TB, KiB, MiB, GiB, TiB)`,
    );
  }
  const bytes = Math.floor(Number(match[1]) * (UNITS[(match[2] ?? 'b').toLowerCase()] as number));
  if (!Number.isSafeInteger(bytes)) throw new Error(`${show(value)} is too large`);
  return bytes;
}
