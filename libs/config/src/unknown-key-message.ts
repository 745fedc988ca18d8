function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i += 1) {
    let previous = row[0] as number;
    row[0] = i;
    for (let j = 1; j <= b.length; j += 1) {
      const current = row[j] as number;
      row[j] = Math.min(
        current + 1,
        (row[j - 1] as number) + 1,
        previous + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
      previous = current;
    }
  }
  return row[b.length] as number;
}

/** The message for a key that is not in the schema, suggesting the closest known key. */
export function unknownKeyMessage(name: string, known: readonly string[]): string {
  const lower = name.toLowerCase();
  const closest = known
    .map((candidate) => ({ candidate, distance: editDistance(lower, candidate.toLowerCase()) }))
    .sort((a, b) => a.distance - b.distance)[0];
  if (closest && closest.distance <= Math.max(2, Math.floor(name.length / 3))) {
    return `unknown key (did you mean "${closest.candidate}"?)`;
  }
  return `unknown key (known keys here: ${known.join(', ')})`;
}
