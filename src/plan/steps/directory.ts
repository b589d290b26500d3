/** A directory with owner and mode. Idempotence: created when missing, fixed when it differs. */
import { q } from '../../ssh/quote.ts';
import { normMode } from './file.ts';
import { ProbeOutputError, ROOT, type Change, type StepKind } from './types.ts';

export interface DirectoryStep {
  readonly kind: 'directory';
  readonly title: string;
  readonly path: string;
  readonly mode: string;
  readonly owner: string;
  readonly group: string;
}

export type DirectoryFact =
  | { readonly exists: false }
  | {
      readonly exists: true;
      readonly isDirectory: boolean;
      readonly mode: string;
      readonly owner: string;
      readonly group: string;
    };

export function directory(
  path: string,
  options: Partial<Pick<DirectoryStep, 'mode' | 'owner' | 'group'>> = {},
): DirectoryStep {
  return {
    kind: 'directory',
    title: `Directory ${path}`,
    path,
    mode: options.mode ?? '0755',
    owner: options.owner ?? ROOT.owner,
    group: options.group ?? ROOT.group,
  };
}

export const directoryKind: StepKind<DirectoryStep, DirectoryFact> = {
  probe: (s) =>
    `if [ -e ${q(s.path)} ]; then stat -c '%F|%a %U %G' ${q(s.path)}; else echo MISSING; fi`,
  parse(_s, lines) {
    if (lines[0] === 'MISSING') return { exists: false };
    const [type, rest] = (lines[0] ?? '').split('|');
    const [mode, owner, group] = (rest ?? '').split(' ');
    if (!type || !mode || !owner || !group) throw new ProbeOutputError(lines.join(' | '));
    return { exists: true, isDirectory: type === 'directory', mode: normMode(mode), owner, group };
  },
  decide(step, fact): Change | null {
    const mode = normMode(step.mode);
    const base = { title: step.title, notify: [] };
    const ensure = `mkdir -p ${q(step.path)} && chown ${q(`${step.owner}:${step.group}`)} ${q(step.path)} && chmod ${q(mode)} ${q(step.path)}`;
    if (!fact.exists) return { ...base, summary: `create directory ${step.path}`, script: ensure };
    if (!fact.isDirectory) {
      return {
        ...base,
        summary: `${step.path} exists but is not a directory`,
        script: `echo ${q(`${step.path} exists and is not a directory; move it away`)} >&2; exit 1`,
      };
    }
    if (fact.mode === mode && fact.owner === step.owner && fact.group === step.group) return null;
    return {
      ...base,
      summary: `fix directory ${step.path} (${fact.mode} ${fact.owner}:${fact.group} → ${mode} ${step.owner}:${step.group})`,
      script: ensure,
    };
  },
};
