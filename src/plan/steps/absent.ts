/**
 * A path that must not exist (a file, a link or a whole directory tree). Idempotence: removed
 * only when present. Used by teardown and to retire files an older layout wrote.
 */
import { q } from '../../ssh/quote.ts';
import type { Change, Notify, StepKind } from './types.ts';

export interface AbsentStep {
  readonly kind: 'absent';
  readonly title: string;
  readonly path: string;
  readonly notify?: readonly Notify[];
}

export type AbsentFact =
  { readonly exists: false } | { readonly exists: true; readonly type: string };

export function absent(path: string, options: { notify?: readonly Notify[] } = {}): AbsentStep {
  return {
    kind: 'absent',
    title: `No ${path}`,
    path,
    ...(options.notify ? { notify: options.notify } : {}),
  };
}

export const absentKind: StepKind<AbsentStep, AbsentFact> = {
  probe: (s) =>
    `if [ -e ${q(s.path)} ] || [ -L ${q(s.path)} ]; then stat -c '%F' ${q(s.path)}; else echo MISSING; fi`,
  parse: (_s, lines) =>
    lines[0] === 'MISSING' || lines[0] === undefined
      ? { exists: false }
      : { exists: true, type: lines[0] },
  decide(step, fact): Change | null {
    if (!fact.exists) return null;
    return {
      title: step.title,
      summary: `remove ${step.path} (${fact.type})`,
      script: `rm -rf ${q(step.path)}`,
      path: step.path,
      notify: step.notify ?? [],
    };
  },
};
