/** Tells an SSH connection failure from a failed remote command (pure, unit-tested). */
import type { ConnectFailure } from '../errors.ts';

/** ssh exits 255 for its own errors; the remote command's status otherwise. */
export function classifySshFailure(
  exitCode: number | null,
  stderr: string,
): ConnectFailure | undefined {
  if (exitCode !== 255) return undefined;
  if (/REMOTE HOST IDENTIFICATION HAS CHANGED|Host key verification failed/i.test(stderr)) {
    return 'host-key-changed';
  }
  if (/Permission denied|Too many authentication failures|no mutual signature/i.test(stderr))
    return 'auth';
  if (/timed out|Timeout, server .* not responding/i.test(stderr)) return 'timeout';
  if (
    /Connection refused|No route to host|Could not resolve hostname|Network is unreachable|Connection closed by|Connection reset|kex_exchange_identification|Broken pipe|mux_client/i.test(
      stderr,
    )
  ) {
    return 'unreachable';
  }
  return undefined;
}

/** Only failures that may go away by themselves are retried. */
export function isRetryable(reason: ConnectFailure): boolean {
  return reason === 'unreachable' || reason === 'timeout';
}

/** Backoff before attempt n (1-based retry number): 1 s, 2 s, 4 s... capped at 8 s. */
export function backoffMs(retry: number): number {
  return Math.min(8000, 1000 * 2 ** (retry - 1));
}

/**
 * Whether a connection failure happened before any remote command could start (nothing was
 * sent: safe to send again). Anything else, e.g. a session that timed out or was cut while the
 * script ran, may have left the script running: a script that changes things is not resent.
 */
export function failedBeforeSession(stderr: string): boolean {
  return /connect to host .* port \d+: (Connection refused|Connection timed out|No route to host|Network is unreachable)|Could not resolve hostname|kex_exchange_identification|Connection closed by [^ ]+ port \d+\s*$|Control socket connect/im.test(
    stderr,
  );
}
