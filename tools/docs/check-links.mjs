#!/usr/bin/env node
// Checks the relative links of README.md and docs/*.md: each target file exists, and each
// `#anchor` names a heading of its target (GitHub's heading ids). Prints every broken link and
// exits 1 if there is one. Node built-ins only.
//
//   node tools/docs/check-links.mjs
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const files = [
  join(root, 'README.md'),
  ...readdirSync(join(root, 'docs'))
    .filter((name) => name.endsWith('.md'))
    .map((name) => join(root, 'docs', name)),
];

/** Markdown without fenced code blocks and inline code (links there are not links). */
function prose(text) {
  return text.replace(/^(```|~~~)[^]*?^\1/gm, '').replace(/`[^`\n]*`/g, '');
}

/** GitHub's id of a heading: lower case, punctuation dropped, spaces to hyphens; repeats get -1, -2. */
function anchorsOf(file) {
  const seen = new Map();
  const anchors = new Set();
  for (const line of prose(readFileSync(file, 'utf8')).split('\n')) {
    const heading = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (!heading) continue;
    const base = heading[1]
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-');
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    anchors.add(count === 0 ? base : `${base}-${count}`);
  }
  // Inline code was dropped above: headings keep the text inside backticks.
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const heading = /^#{1,6}\s+(.*?)\s*$/.exec(line);
    if (heading)
      anchors.add(
        heading[1]
          .toLowerCase()
          .replace(/[^\p{L}\p{N}\s_-]/gu, '')
          .replace(/\s/g, '-'),
      );
  }
  return anchors;
}

const broken = [];
for (const file of files) {
  const text = prose(readFileSync(file, 'utf8'));
  for (const match of text.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) {
    const target = match[1];
    if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto:, …
    const [path, anchor] = target.split('#');
    const resolved = path ? resolve(dirname(file), decodeURIComponent(path)) : file;
    const where = `${relative(root, file)}: ${target}`;
    if (!existsSync(resolved)) {
      broken.push(`${where} (no such file)`);
      continue;
    }
    if (anchor && resolved.endsWith('.md') && statSync(resolved).isFile()) {
      if (!anchorsOf(resolved).has(anchor.toLowerCase()))
        broken.push(`${where} (no heading #${anchor} in ${relative(root, resolved)})`);
    }
  }
}
if (broken.length > 0) {
  process.stderr.write(`broken documentation links:\n  ${broken.join('\n  ')}\n`);
  process.exit(1);
}
process.stdout.write(`documentation links: ${files.length} files checked, none broken\n`);
