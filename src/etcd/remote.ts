/**
 * Shell snippets that ask the local etcd member over its HTTP gateway (127.0.0.1:2379, the only
 * place the client API listens). curl is installed by the base component. Each prints a marker
 * line then one JSON document, parsed by `splitSections`.
 */

export const ETCD_CLIENT = 'http://127.0.0.1:2379';

/** One gateway POST; prints nothing when etcd does not answer. */
export function gatewayPost(path: string, timeoutSeconds = 3): string {
  return `curl -fsS -m ${timeoutSeconds} -X POST -H 'Content-Type: application/json' -d '{}' ${ETCD_CLIENT}${path} 2>/dev/null || true`;
}

/** Prints `@@status` + the maintenance status and `@@members` + the member list. */
export const ETCD_QUERY_SCRIPT = [
  `echo '@@status'`,
  gatewayPost('/v3/maintenance/status'),
  `echo`,
  `echo '@@members'`,
  gatewayPost('/v3/cluster/member/list'),
  `echo`,
].join('\n');

/** Splits `@@name` marked output into sections (pure). */
export function splitSections(output: string): Map<string, string> {
  const sections = new Map<string, string>();
  let name: string | undefined;
  let lines: string[] = [];
  const flush = () => {
    if (name !== undefined) sections.set(name, lines.join('\n').trim());
  };
  for (const line of output.split('\n')) {
    const m = /^@@([a-z0-9_-]+)$/.exec(line.trim());
    if (m) {
      flush();
      name = m[1];
      lines = [];
    } else lines.push(line);
  }
  flush();
  return sections;
}
