import type { RunningTopology } from '@dtr-cache/test-support';

// What the DTR replicas of the `start:ha` topology logged: each replica has a log of its own
// (`dtr-1` … `dtr-3`), where a single DTR has the one `dtr` log that test-support's
// `dtrBlobStatuses` reads. (These would belong in test-support, beside it.)

/** The names of the topology's DTR replicas (their logs' names). */
export const replicaNames = (topology: RunningTopology): string[] =>
  (topology.endpoints.dtr.replicas ?? []).map((replica) => replica.name);

/**
 * `status=` of every replica's GET request lines for a blob of `repository`, all replicas
 * together (a blob request reaches whichever replica nginx picks).
 */
export async function replicaBlobStatuses(
  topology: RunningTopology,
  repository: string,
  digest: string,
): Promise<number[]> {
  const statuses: number[] = [];
  for (const replica of replicaNames(topology))
    for (const line of await topology.logLines(replica))
      if (
        line.includes('msg=request') &&
        line.includes('method=GET') &&
        line.includes(`path=/v2/${repository}/blobs/${digest} `)
      )
        statuses.push(Number(/status=(\d+)/.exec(line)?.[1]));
  return statuses;
}

/** How many lines a server's log has now: a mark to read only what comes after it. */
export const logMark = async (topology: RunningTopology, server: string) =>
  (await topology.logLines(server)).length;

/**
 * The `request` lines a server logged since `mark` whose path starts with one of `prefixes`
 * (written as each answer is sent).
 */
export async function requestLinesSince(
  topology: RunningTopology,
  server: string,
  mark: number,
  prefixes: readonly string[],
): Promise<string[]> {
  return (await topology.logLines(server))
    .slice(Math.max(0, mark - 1))
    .filter(
      (line) =>
        line.includes('msg=request') && prefixes.some((prefix) => line.includes(`path=${prefix}`)),
    );
}
