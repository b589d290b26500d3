/**
 * Every server: when the mesh finds a server silent, abort this server's connection attempts
 * still pending to that server's app instances, so that the fastrouter sends those requests to
 * another instance at once.
 *
 * Why: the fastrouter picks an instance and connects. A silent server answers nothing, so a
 * connect started in the fraction of a second before the mesh noticed (300 ms) waits for the
 * fastrouter's timeout; by then the fastrouter has also given up on the front's side of the
 * request, and the front answers 500. Taking the instance off the router (an unsubscribe) only
 * stops new picks. A connect that fails is different: the fastrouter marks the instance failed
 * and retries the request on another one (up to three times). The kernel can make a pending
 * connect fail: `ss -K` destroys the sockets its filter matches (SOCK_DESTROY, CAP_NET_ADMIN;
 * the connect ends with ECONNABORTED).
 *
 * Only connects still pending (state syn-sent) to the silent server's instances are touched:
 * nothing has been sent on them yet, so retrying elsewhere is always safe, and a false alarm
 * (a busy agent) costs a request a retry, never a request. Connections already established (a
 * request in flight) are left alone: a write may be under way, only the instance can answer it.
 */
import { execFile } from 'node:child_process';

/** Pure: `ss` arguments that destroy pending TCP connects to any of `nodes` ("ip:port"). */
export function abortArgs(nodes: readonly string[]): string[] {
  const dst = nodes.flatMap((n, i) => (i === 0 ? ['dst', n] : ['or', 'dst', n]));
  return ['-K', '-t', '-n', '-H', 'state', 'syn-sent', '(', ...dst, ')'];
}

/** Pure: how many sockets `ss -K -H` listed (each one it destroyed). */
export function abortedCount(ssOutput: string): number {
  return ssOutput.split('\n').filter((l) => l.trim() !== '').length;
}

/**
 * Aborts the pending connects to `nodes`; resolves to how many were aborted, or to an error's
 * words (no `ss`, no SOCK_DESTROY in the kernel): the caller logs it, nothing else depends on it.
 */
export function abortConnects(nodes: readonly string[]): Promise<number | string> {
  if (nodes.length === 0) return Promise.resolve(0);
  return new Promise((resolve) => {
    execFile('ss', abortArgs(nodes), { timeout: 2000 }, (err, stdout, stderr) => {
      if (err) resolve(`ss -K failed: ${(stderr || err.message).trim().split('\n')[0] ?? ''}`);
      else resolve(abortedCount(stdout));
    });
  });
}
