/**
 * Apply scripts (pure builders). Every script that changes a server starts with PRELUDE: one
 * apply at a time per server (a copy sent again after a lost connection waits for the first
 * instead of running beside it), temp files removed on every exit path, and a private temp
 * directory. A restart or reload is recorded on the server (PENDING_DIR) before the file that
 * needs it is replaced, and the record is removed only once it is done: an interrupted run
 * leaves it, and the next run finishes it.
 */
import { q } from '../ssh/quote.ts';
import { pendingMarker, PENDING_DIR, type PhasePlan } from './probe.ts';
import { section, sectionLine } from './sections.ts';
import { SKIPPED_VAR } from './steps/command.ts';
import type { Change, Notify } from './steps/types.ts';

export const APPLY_LOCK = '/run/shoestring/apply.lock';
/** Seconds an apply waits for another one on the same server to end. */
export const APPLY_LOCK_WAIT = 600;

export const PRELUDE = [
  'install -d -m 0755 /run/shoestring',
  `exec 9>${APPLY_LOCK}`,
  `if ! flock -w ${APPLY_LOCK_WAIT} 9; then echo 'another Shoestring apply has been running here for ${APPLY_LOCK_WAIT} s' >&2; exit 75; fi`,
  'shoestring_exit_actions=()',
  'shoestring_on_exit() { shoestring_exit_actions+=("$1"); }',
  'shoestring_at_exit() { local a; for a in "${shoestring_exit_actions[@]}"; do eval "$a" || true; done; }',
  'trap shoestring_at_exit EXIT',
  "trap 'exit 129' HUP; trap 'exit 130' INT; trap 'exit 143' TERM",
  // We hold the lock: any other temp directory is a leftover of an apply that was killed.
  'for d in /run/shoestring/tmp.*; do [ -e "$d" ] && rm -rf "$d"; done',
  'SHOESTRING_TMP=$(mktemp -d /run/shoestring/tmp.XXXXXX)',
  'shoestring_on_exit "rm -rf $(printf %q "$SHOESTRING_TMP")"',
  'export SHOESTRING_TMP',
].join('\n');

const notifyVar = (service: string) => `shoestring_notify_${service.replace(/[^A-Za-z0-9]/g, '_')}`;
const runningVar = (service: string) =>
  `shoestring_running_${service.replace(/[^A-Za-z0-9]/g, '_')}`;

/**
 * The restarts/reloads the changes ask for, each service once (restart wins over reload), and
 * the pending ones. A service that a later change starts runs the new configuration already.
 */
export function notifications(
  changes: readonly Change[],
  pending: readonly Notify[] = [],
  options: { keepStarted?: boolean } = {},
) {
  const byService = new Map<string, Notify>();
  const startedAfter = (service: string, i: number) =>
    !options.keepStarted && changes.some((c, j) => j > i && c.starts === service);
  const asked = changes.flatMap((c, i) => c.notify.filter((n) => !startedAfter(n.service, i)));
  for (const n of [...pending, ...asked]) {
    const prev = byService.get(n.service);
    if (!prev || (prev.action === 'reload' && n.action === 'restart')) byService.set(n.service, n);
  }
  return [...byService.values()];
}

/** Shell doing one notification now (check, restart/reload, settle), then clearing its record. */
export function notifyNow(n: Notify): string {
  const act =
    n.action === 'reload'
      ? `systemctl reload-or-restart ${q(n.service)}`
      : `systemctl restart ${q(n.service)}`;
  return [
    section(`apply:${n.action} ${n.service}`, true),
    ...(n.check ? [n.check] : []),
    act,
    ...(n.settle ? [n.settle] : []),
    `rm -f ${q(pendingMarker({ service: n.service, action: 'restart' }))} ${q(pendingMarker({ service: n.service, action: 'reload' }))}`,
  ].join('\n');
}

/** Section of the apply's stdout listing the turn-bound notifications left to the runner. */
export const OWED = 'owed';

/** The script applying a phase's changes, then its notifications. */
export function applyScript(plan: PhasePlan): string {
  const { changes, pending } = plan;
  const all = notifications(changes, pending);
  // A start planned for a service that was stopped when probed may find it running: a package
  // installed in the same phase started it, with its own configuration. Then the restart or
  // reload the earlier changes asked for is still owed.
  const dropped = notifications(changes, pending, { keepStarted: true }).filter(
    (n) => !all.some((m) => m.service === n.service),
  );
  const flagged = [...all, ...dropped];
  const wasPending = new Set(pending.map((n) => n.service));
  const lines = [PRELUDE];
  if (all.length > 0) {
    lines.push(`install -d -m 0755 ${PENDING_DIR}`);
    for (const n of all) lines.push(`touch ${q(pendingMarker(n))}`);
  }
  for (const c of changes) {
    const before = dropped.some((n) => n.service === c.starts)
      ? `if systemctl is-active -q ${q(c.starts ?? '')}; then ${runningVar(c.starts ?? '')}=1; fi\n`
      : '';
    const head = `${before}${section(`apply:${c.title}`, true)}\n${c.script}`;
    const asks = c.notify.filter((n) => flagged.some((m) => m.service === n.service));
    if (asks.length === 0 && !c.guarded) lines.push(head);
    else {
      const flags = asks.map((n) => `${notifyVar(n.service)}=1`).join('; ') || ':';
      lines.push(`${SKIPPED_VAR}=0\n${head}`);
      lines.push(
        `if [ "$${SKIPPED_VAR}" = 0 ]; then ${flags}; else ${section(`skipped:${c.title}`, true)}; fi`,
      );
    }
  }
  if (all.some((n) => n.turn)) lines.push(section(OWED));
  for (const n of all) {
    const owed = wasPending.has(n.service) ? 'true' : `[ -n "\${${notifyVar(n.service)}:-}" ]`;
    const now = n.turn ? `echo ${q(`${n.service} ${n.action}`)}` : notifyNow(n);
    const clear = `rm -f ${q(pendingMarker(n))}`;
    lines.push(`if ${owed}; then\n${now}\nelse\n${clear}\nfi`);
  }
  for (const n of dropped) {
    const owed = `[ -n "\${${runningVar(n.service)}:-}" ] && [ -n "\${${notifyVar(n.service)}:-}" ]`;
    lines.push(`if ${owed}; then\n${notifyNow(n)}\nfi`);
  }
  return lines.join('\n');
}

/** The script doing turn-bound notifications the runner took the turn for. */
export function finishScript(owed: readonly Notify[]): string {
  return [PRELUDE, ...owed.map(notifyNow)].join('\n');
}

/** Pure: what an apply's stderr says. */
export function readApplyStderr(stderr: string): { lastStep?: string; skipped: Set<string> } {
  const skipped = new Set<string>();
  let lastStep: string | undefined;
  const prefix = sectionLine('');
  for (const line of stderr.split('\n')) {
    if (!line.startsWith(prefix)) continue;
    const name = line.slice(prefix.length);
    if (name.startsWith('apply:')) lastStep = name.slice(6);
    else if (name.startsWith('skipped:')) skipped.add(name.slice(8));
  }
  return lastStep === undefined ? { skipped } : { lastStep, skipped };
}
