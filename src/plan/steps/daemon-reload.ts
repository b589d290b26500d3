/**
 * systemd has loaded the unit files we wrote. Idempotence: `daemon-reload` only when a unit says
 * NeedDaemonReload, a unit file we wrote is not loaded yet (a new unit), or a drop-in we wrote is
 * missing from its unit's DropInPaths (a new drop-in does not set NeedDaemonReload).
 */
import { q } from '../../ssh/quote.ts';
import type { Change, StepKind } from './types.ts';

export interface UnitFiles {
  readonly unit: string;
  /** Unit files and drop-ins written for it (full paths). */
  readonly files: readonly string[];
}

export interface DaemonReloadStep {
  readonly kind: 'daemon-reload';
  readonly title: string;
  readonly units: readonly UnitFiles[];
}

export interface UnitLoadState {
  readonly needReload: boolean;
  /** FragmentPath and DropInPaths: the files systemd has loaded for the unit. */
  readonly loaded: ReadonlySet<string>;
  /** Of the unit's files, those that exist on disk. */
  readonly present: ReadonlySet<string>;
}

export type DaemonReloadFact = ReadonlyMap<string, UnitLoadState>;

export function daemonReload(units: readonly UnitFiles[]): DaemonReloadStep {
  return {
    kind: 'daemon-reload',
    title: `Load the unit files of ${units.map((u) => u.unit).join(', ')}`,
    units,
  };
}

export const daemonReloadKind: StepKind<DaemonReloadStep, DaemonReloadFact> = {
  probe: (s) =>
    s.units
      .map((u) =>
        [
          `echo ${q(`unit ${u.unit}`)}`,
          `echo "need $(shoestring_unit ${q(u.unit)} NeedDaemonReload)"`,
          `echo "loaded $(shoestring_unit ${q(u.unit)} FragmentPath) $(shoestring_unit ${q(u.unit)} DropInPaths)"`,
          ...u.files.map((f) => `if [ -e ${q(f)} ]; then echo ${q(`present ${f}`)}; fi`),
        ].join('\n'),
      )
      .join('\n'),
  parse(_s, lines) {
    const units = new Map<
      string,
      { needReload: boolean; loaded: Set<string>; present: Set<string> }
    >();
    let current: { needReload: boolean; loaded: Set<string>; present: Set<string> } | undefined;
    for (const line of lines) {
      const space = line.indexOf(' ');
      const word = space < 0 ? line : line.slice(0, space);
      const rest = space < 0 ? '' : line.slice(space + 1);
      if (word === 'unit') {
        current = { needReload: false, loaded: new Set(), present: new Set() };
        units.set(rest, current);
      } else if (current && word === 'need') {
        current.needReload = rest.trim() === 'yes';
      } else if (current && word === 'loaded') {
        for (const p of rest.split(' ')) if (p) current.loaded.add(p);
      } else if (current && word === 'present') {
        current.present.add(rest);
      }
    }
    return units;
  },
  // A unit file or drop-in written or removed earlier in the same phase: reload after it.
  follow(step, earlier): Change | null {
    const touched = step.units.filter((u) =>
      earlier.some((c) => c.path !== undefined && u.files.includes(c.path)),
    );
    if (touched.length === 0) return null;
    return {
      title: step.title,
      summary: `systemctl daemon-reload (${touched.map((u) => u.unit).join(', ')})`,
      script: 'systemctl daemon-reload',
      notify: [],
    };
  },
  decide(step, fact): Change | null {
    const why = step.units.filter((u) => {
      const state = fact.get(u.unit);
      if (!state) return true;
      if (state.needReload) return true;
      return u.files.some((f) => state.present.has(f) !== state.loaded.has(f));
    });
    if (why.length === 0) return null;
    return {
      title: step.title,
      summary: `systemctl daemon-reload (${why.map((u) => u.unit).join(', ')})`,
      script: 'systemctl daemon-reload',
      notify: [],
    };
  },
};
