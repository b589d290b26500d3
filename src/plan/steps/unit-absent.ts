/**
 * A systemd unit gone: stopped, disabled, its unit file and drop-ins removed, systemd reloaded.
 * Idempotence: nothing when the unit is not loaded, not running and none of its files exist.
 */
import { q } from '../../ssh/quote.ts';
import type { Change, StepKind } from './types.ts';

export interface UnitAbsentStep {
  readonly kind: 'unit-absent';
  readonly title: string;
  readonly unit: string;
  /** Its unit file and drop-ins, written by us (full paths). */
  readonly files: readonly string[];
}

export interface UnitAbsentFact {
  readonly active: boolean;
  readonly enabled: boolean;
  readonly present: readonly string[];
}

export function unitAbsent(unit: string, unitFiles: readonly string[]): UnitAbsentStep {
  return { kind: 'unit-absent', title: `No unit ${unit}`, unit, files: unitFiles };
}

export const unitAbsentKind: StepKind<UnitAbsentStep, UnitAbsentFact> = {
  probe: (s) =>
    [
      `echo "active $(shoestring_unit ${q(s.unit)} ActiveState)"`,
      `echo "enabled $(shoestring_unit ${q(s.unit)} UnitFileState)"`,
      ...s.files.map((f) => `if [ -e ${q(f)} ]; then echo ${q(`present ${f}`)}; fi`),
    ].join('\n'),
  parse(_s, lines) {
    const value = (word: string) =>
      lines.find((l) => l.startsWith(`${word} `))?.slice(word.length + 1) ?? '';
    return {
      active: ['active', 'activating', 'reloading'].includes(value('active')),
      enabled: value('enabled') === 'enabled' || value('enabled') === 'enabled-runtime',
      present: lines.filter((l) => l.startsWith('present ')).map((l) => l.slice(8)),
    };
  },
  decide(step, fact): Change | null {
    if (!fact.active && !fact.enabled && fact.present.length === 0) return null;
    const script = [
      `systemctl disable --now -q ${q(step.unit)} 2>/dev/null || systemctl stop ${q(step.unit)} 2>/dev/null || true`,
      ...(fact.present.length > 0 ? [`rm -rf ${fact.present.map(q).join(' ')}`] : []),
      'systemctl daemon-reload',
      `systemctl reset-failed ${q(step.unit)} 2>/dev/null || true`,
    ].join('\n');
    const what = [
      ...(fact.active ? ['stop'] : []),
      ...(fact.enabled ? ['disable'] : []),
      ...(fact.present.length > 0 ? [`remove ${fact.present.join(' ')}`] : []),
    ];
    return { title: step.title, summary: `${what.join(' + ')} (${step.unit})`, script, notify: [] };
  },
};
