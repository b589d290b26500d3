/**
 * Facts: one read-only probe script per phase (one round trip), and a pure parser that splits
 * its output back into one fact per step.
 */
import { FactError } from '../errors.ts';
import { q } from '../ssh/quote.ts';
import type { Step } from './steps.ts';

export type Fact =
  | { readonly kind: 'packages'; readonly installed: ReadonlySet<string> }
  | { readonly kind: 'file'; readonly exists: false }
  | {
      readonly kind: 'file';
      readonly exists: true;
      readonly mode: string;
      readonly owner: string;
      readonly group: string;
      readonly sha256: string;
    }
  | { readonly kind: 'directory'; readonly exists: false }
  | {
      readonly kind: 'directory';
      readonly exists: true;
      readonly isDirectory: boolean;
      readonly mode: string;
      readonly owner: string;
      readonly group: string;
    }
  | { readonly kind: 'service'; readonly enabled: string; readonly active: string }
  | { readonly kind: 'command'; readonly done: boolean };

const MARK = '@@shoestring-step';

function probeOne(step: Step): string {
  switch (step.kind) {
    case 'packages':
      return `dpkg-query -W -f='\${Package} \${db:Status-Abbrev}\\n' ${step.names.map(q).join(' ')} 2>/dev/null || true`;
    case 'file':
      return `if [ -f ${q(step.path)} ] && [ ! -L ${q(step.path)} ]; then stat -c '%a %U %G' ${q(step.path)}; sha256sum < ${q(step.path)} | cut -d' ' -f1; else echo MISSING; fi`;
    case 'directory':
      return `if [ -e ${q(step.path)} ]; then stat -c '%F|%a %U %G' ${q(step.path)}; else echo MISSING; fi`;
    case 'service':
      return `echo "$(systemctl is-enabled ${q(step.name)} 2>/dev/null || true)"; echo "$(systemctl is-active ${q(step.name)} 2>/dev/null || true)"`;
    case 'command':
      return `if ( ${step.unless} ) >/dev/null 2>&1; then echo DONE; else echo TODO; fi`;
  }
}

/** The probe script for a list of steps: each step's output follows a marker line. */
export function probeScript(steps: readonly Step[]): string {
  return steps.map((s, i) => `echo '${MARK} ${i}'\n${probeOne(s)}`).join('\n');
}

/** Normalises a mode to four octal digits ('644' → '0644'). */
export function normMode(mode: string): string {
  return mode.padStart(4, '0');
}

function parseOne(step: Step, lines: string[], where: string): Fact {
  const bad = (what: string) =>
    new FactError(`${where}: unexpected probe output for ${step.title}: ${what}`);
  switch (step.kind) {
    case 'packages': {
      const installed = new Set<string>();
      for (const line of lines) {
        const [name, status] = line.split(' ');
        if (name && status?.startsWith('ii')) installed.add(name.split(':')[0] ?? name);
      }
      return { kind: 'packages', installed };
    }
    case 'file': {
      if (lines[0] === 'MISSING') return { kind: 'file', exists: false };
      const [mode, owner, group] = (lines[0] ?? '').split(' ');
      const sha256 = lines[1] ?? '';
      if (!mode || !owner || !group || !/^[0-9a-f]{64}$/.test(sha256)) throw bad(lines.join(' | '));
      return { kind: 'file', exists: true, mode: normMode(mode), owner, group, sha256 };
    }
    case 'directory': {
      if (lines[0] === 'MISSING') return { kind: 'directory', exists: false };
      const [type, rest] = (lines[0] ?? '').split('|');
      const [mode, owner, group] = (rest ?? '').split(' ');
      if (!type || !mode || !owner || !group) throw bad(lines.join(' | '));
      return {
        kind: 'directory',
        exists: true,
        isDirectory: type === 'directory',
        mode: normMode(mode),
        owner,
        group,
      };
    }
    case 'service':
      return { kind: 'service', enabled: lines[0] ?? '', active: lines[1] ?? '' };
    case 'command':
      if (lines[0] !== 'DONE' && lines[0] !== 'TODO') throw bad(lines.join(' | '));
      return { kind: 'command', done: lines[0] === 'DONE' };
  }
}

/** Splits probe output into one fact per step. `where` (the host) names errors. */
export function parseFacts(steps: readonly Step[], output: string, where: string): Fact[] {
  const sections = new Map<number, string[]>();
  let current: string[] | undefined;
  for (const line of output.split('\n')) {
    if (line.startsWith(MARK)) {
      current = [];
      sections.set(Number(line.slice(MARK.length + 1)), current);
    } else if (current && line !== '') {
      current.push(line);
    }
  }
  return steps.map((step, i) => {
    const lines = sections.get(i);
    if (!lines) throw new FactError(`${where}: the probe for ${step.title} printed nothing`);
    return parseOne(step, lines, where);
  });
}
