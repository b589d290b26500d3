/** A symbolic link pointing at a target. Idempotence: (re)made only when it points elsewhere. */
import { q } from '../../ssh/quote.ts';
import type { Change, Notify, StepKind } from './types.ts';

export interface SymlinkStep {
  readonly kind: 'symlink';
  readonly title: string;
  readonly path: string;
  readonly target: string;
  readonly notify?: readonly Notify[];
}

/** What is at the path: nothing, a link (and where to), or something else. */
export type SymlinkFact =
  | { readonly is: 'missing' }
  | { readonly is: 'link'; readonly target: string }
  | { readonly is: 'other'; readonly type: string };

export function symlink(
  path: string,
  target: string,
  options: { notify?: readonly Notify[]; title?: string } = {},
): SymlinkStep {
  return {
    kind: 'symlink',
    title: options.title ?? `Link ${path}`,
    path,
    target,
    ...(options.notify ? { notify: options.notify } : {}),
  };
}

export const symlinkKind: StepKind<SymlinkStep, SymlinkFact> = {
  probe: (s) =>
    `if [ -L ${q(s.path)} ]; then echo "link $(readlink ${q(s.path)})"; elif [ -e ${q(s.path)} ]; then echo "other $(stat -c '%F' ${q(s.path)})"; else echo missing; fi`,
  parse(_s, lines) {
    const line = lines[0] ?? 'missing';
    if (line.startsWith('link ')) return { is: 'link', target: line.slice(5) };
    if (line.startsWith('other ')) return { is: 'other', type: line.slice(6) };
    return { is: 'missing' };
  },
  decide(step, fact): Change | null {
    if (fact.is === 'link' && fact.target === step.target) return null;
    const base = { title: step.title, notify: step.notify ?? [] };
    if (fact.is === 'other') {
      return {
        ...base,
        summary: `${step.path} is a ${fact.type}, not a link`,
        script: `echo ${q(`${step.path} is a ${fact.type}, not a link to ${step.target}; move it away`)} >&2; exit 1`,
      };
    }
    return {
      ...base,
      summary: `link ${step.path} → ${step.target}`,
      script: `mkdir -p "$(dirname ${q(step.path)})"\nln -sfn ${q(step.target)} ${q(step.path)}`,
      path: step.path,
    };
  },
};
