/**
 * The confirm gate's verdict on what `shoestring-firewall confirm` printed (pure). `confirmed`
 * and `ok` pass; `rolled-back` is final: the gate stops at once (a GateError, which the runner
 * lets through) instead of polling on until its budget is spent; anything else is polled again.
 */
import { GateError } from '../errors.ts';
import type { Verdict } from '../plan/phase.ts';

export const ROLLED_BACK =
  'the new firewall ruleset was rolled back: no new SSH connection could be made while it was loaded; the previous ruleset is back';
export const ROLLED_BACK_HINT = 'check FIREWALL_RULES and SSH_ALLOW_FROM in .env';

export function confirmVerdict(host: string, output: string): Verdict {
  const line = output
    .split('\n')
    .map((l) => l.trim())
    .find((l) => l !== '');
  if (line === 'confirmed' || line === 'ok') return undefined;
  if (line?.startsWith('rolled-back')) {
    const detail = line.slice('rolled-back'.length).trim();
    throw new GateError(`${host}: ${ROLLED_BACK}${detail ? ` (${detail})` : ''}`, {
      hint: ROLLED_BACK_HINT,
    });
  }
  return line ?? 'shoestring-firewall confirm printed nothing';
}
