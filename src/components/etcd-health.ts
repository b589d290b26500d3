/** Shell checks of the local etcd (member or proxy) shared by etcd's phases and gate. */
import { ETCD_HEALTH_URL } from '../etcd/remote.ts';
import { PROXY_SERVICE } from './etcd-proxy.ts';

/**
 * The local member (or proxy) is healthy: it sees a leader (a proxy: a voter answered). Asked on
 * the plain-HTTP metrics listener, whose /health is the client API's.
 */
export const HEALTHY = `curl -fsS -m 3 ${ETCD_HEALTH_URL} 2>/dev/null | grep -q '"health":"true"'`;

/**
 * A check that holds when etcd (or this server's etcd proxy) runs and `check` passes, asked a
 * few times: right after a bootstrap a healthy member can miss one answer, which must not count
 * as a change. Fails at once when neither runs (a first install), so probes stay fast.
 */
export function settled(check: string): string {
  return `{ systemctl is-active -q etcd || systemctl is-active -q ${PROXY_SERVICE}; } && for i in 1 2 3 4 5; do if ${check}; then exit 0; fi; sleep 0.3; done; exit 1`;
}

/** Waits up to `seconds` for the local member to be healthy (it has a leader). */
export function waitHealthy(seconds: number): string {
  // A subshell: `exit 0` must not end the apply script (later changes follow it).
  // Bounded by time, not tries: one try can take curl's 3 s while no leader is elected.
  return `(end=$((SECONDS + ${seconds})); while [ "$SECONDS" -lt "$end" ]; do if ${HEALTHY}; then exit 0; fi; sleep 0.2; done; echo 'etcd did not become healthy in ${seconds} s' >&2; journalctl -u etcd -n 5 --no-pager >&2 || true; exit 1)`;
}
