/**
 * A minimal, deterministic tar (ustar) writer: regular files and folders only, owned by root,
 * dated 1970-01-01, so the same entries always give the same bytes (and so the same digests).
 */

/** One entry of a tar: a folder (`content` undefined, name ending in `/`) or a regular file. */
export interface TarEntry {
  readonly name: string;
  readonly content?: Buffer | undefined;
  /** Permission bits; default 0644 for files, 0755 for folders. */
  readonly mode?: number | undefined;
}

const BLOCK = 512;

/** Writes `value` as a NUL-terminated octal number filling `length` bytes at `offset`. */
function octal(header: Buffer, offset: number, length: number, value: number): void {
  header.write(`${value.toString(8).padStart(length - 1, '0')}\0`, offset, length, 'ascii');
}

function headerOf(entry: TarEntry): Buffer {
  const folder = entry.content === undefined;
  const name = folder && !entry.name.endsWith('/') ? `${entry.name}/` : entry.name;
  if (Buffer.byteLength(name) > 100) throw new Error(`tar entry name too long: ${name}`);
  const header = Buffer.alloc(BLOCK);
  header.write(name, 0, 100, 'utf8');
  octal(header, 100, 8, entry.mode ?? (folder ? 0o755 : 0o644));
  octal(header, 108, 8, 0); // uid
  octal(header, 116, 8, 0); // gid
  octal(header, 124, 12, entry.content?.length ?? 0);
  octal(header, 136, 12, 0); // mtime
  header.write(folder ? '5' : '0', 156, 1, 'ascii');
  header.write('ustar\u000000', 257, 8, 'ascii');
  header.write('root', 265, 32, 'ascii');
  header.write('root', 297, 32, 'ascii');
  // The checksum is computed with its own field as eight spaces.
  header.fill(' ', 148, 156);
  let sum = 0;
  for (const byte of header) sum += byte;
  header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'ascii');
  return header;
}

/** The tar of `entries`, in the order given, with the two closing zero blocks. */
export function tarOf(entries: readonly TarEntry[]): Buffer {
  const parts: Buffer[] = [];
  for (const entry of entries) {
    parts.push(headerOf(entry));
    if (entry.content !== undefined) {
      parts.push(entry.content);
      const padding = (BLOCK - (entry.content.length % BLOCK)) % BLOCK;
      parts.push(Buffer.alloc(padding));
    }
  }
  parts.push(Buffer.alloc(2 * BLOCK));
  return Buffer.concat(parts);
}
