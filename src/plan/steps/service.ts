/** A systemd service enabled/disabled and running/stopped. Idempotence: only what differs. */
import { q } from '../../ssh/quote.ts';
import type { Change, StepKind } from './types.ts';

export interface ServiceStep {
  readonly kind: 'service';
  readonly title: string;
  readonly name: string;
  readonly enabled: boolean;
  /** undefined: leave it running or stopped as it is. */
  readonly running: boolean | undefined;
}

export interface ServiceFact {
  /** `systemctl is-enabled` (empty when the unit does not exist). */
  readonly enabled: string;
  /** `systemctl is-active`. */
  readonly active: string;
}

export function service(
  name: string,
  options: { enabled?: boolean; running?: boolean | 'leave' } = {},
): ServiceStep {
  const running = options.running ?? true;
  return {
    kind: 'service',
    title: `Service ${name}`,
    name,
    enabled: options.enabled ?? true,
    running: running === 'leave' ? undefined : running,
  };
}

/** Prints `enabled <is-enabled>` and `active <is-active>` for a unit. */
export function unitStateProbe(unit: string): string {
  return `echo "enabled $(shoestring_unit ${q(unit)} UnitFileState)"; echo "active $(shoestring_unit ${q(unit)} ActiveState)"`;
}

export function readUnitState(lines: readonly string[]): ServiceFact {
  const value = (word: string) =>
    lines.find((l) => l === word || l.startsWith(`${word} `))?.slice(word.length + 1) ?? '';
  return { enabled: value('enabled'), active: value('active') };
}

const ENABLED = new Set(['enabled', 'enabled-runtime', 'static', 'generated', 'alias']);
const ACTIVE = new Set(['active', 'reloading', 'activating']);

export const serviceKind: StepKind<ServiceStep, ServiceFact> = {
  // Labelled lines: a unit that does not exist prints nothing for is-enabled.
  probe: (s) => unitStateProbe(s.name),
  parse: (_s, lines) => readUnitState(lines),
  decide(step, fact): Change | null {
    const cmds: string[] = [];
    const what: string[] = [];
    const enabled = ENABLED.has(fact.enabled);
    const active = ACTIVE.has(fact.active);
    if (step.enabled && !enabled) {
      cmds.push(`systemctl enable -q ${q(step.name)}`);
      what.push('enable');
    }
    if (!step.enabled && enabled && fact.enabled !== 'static') {
      cmds.push(`systemctl disable -q ${q(step.name)}`);
      what.push('disable');
    }
    let starts: string | undefined;
    if (step.running === true && !active) {
      cmds.push(`systemctl start ${q(step.name)}`);
      what.push('start');
      starts = step.name;
    }
    if (step.running === false && active) {
      cmds.push(`systemctl stop ${q(step.name)}`);
      what.push('stop');
    }
    if (cmds.length === 0) return null;
    return {
      title: step.title,
      summary: `${what.join(' + ')} ${step.name}`,
      script: cmds.join('\n'),
      notify: [],
      ...(starts ? { starts } : {}),
    };
  },
};
