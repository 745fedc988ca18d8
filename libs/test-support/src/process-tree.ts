import { readdirSync, readFileSync } from 'node:fs';

/**
 * The fields of /proc/<pid>/stat after the command name (which may hold spaces): state (index 0),
 * ppid (1), … utime (11), stime (12), in clock ticks; undefined if the process is gone.
 */
export function procStatFields(pid: number | string): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined; // exited meanwhile
  }
}

/** A process and its live descendants (a content cache's workers), by pid, the process first. */
export function processTree(rootPid: number): number[] {
  const parents = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const fields = procStatFields(entry);
    if (fields) parents.set(Number(entry), Number(fields[1]));
  }
  const tree = [rootPid];
  for (let index = 0; index < tree.length; index += 1)
    for (const [pid, parent] of parents) if (parent === tree[index]) tree.push(pid);
  return tree;
}
