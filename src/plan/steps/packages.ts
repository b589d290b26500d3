/**
 * Debian packages present (apt-get install) or absent (apt-get purge). Idempotence: only the
 * packages not yet in the wanted state are touched.
 */
import { q } from '../../ssh/quote.ts';
import type { Change, StepKind } from './types.ts';

export interface PackagesStep {
  readonly kind: 'packages';
  readonly title: string;
  readonly names: readonly string[];
  readonly present: boolean;
  /** Keep the packages' services from starting on install (policy-rc.d), e.g. etcd-server. */
  readonly noStart?: boolean;
}

export interface PackagesFact {
  readonly installed: ReadonlySet<string>;
  /** A start guard left by an interrupted install (see POLICY_GUARD). */
  readonly staleGuard: boolean;
}

export const apt = {
  packages(
    names: readonly string[],
    options: { noStart?: boolean; title?: string } = {},
  ): PackagesStep {
    return {
      kind: 'packages',
      title: options.title ?? `Packages ${names.join(' ')}`,
      names,
      present: true,
      ...(options.noStart ? { noStart: true } : {}),
    };
  },
  absent(names: readonly string[]): PackagesStep {
    return { kind: 'packages', title: `No packages ${names.join(' ')}`, names, present: false };
  },
};

const POLICY = '/usr/sbin/policy-rc.d';
const SAVED = '/usr/sbin/policy-rc.d.shoestring-saved';
const GUARD_MARK = '# shoestring start guard';

/**
 * While our install runs, policy-rc.d says "do not start" (exit 101). The guard is ours (a mark
 * line), names the install's shell pid, and stops refusing once that shell is gone: it defers to
 * the operator's own policy (saved beside it), so a killed install cannot leave services unable
 * to start. Any leftover guard is taken away first, and the operator's policy put back.
 */
export const POLICY_GUARD = [
  `shoestring_guard_restore() { if grep -qx ${q(GUARD_MARK)} ${POLICY} 2>/dev/null; then rm -f ${POLICY}; if [ -e ${SAVED} ]; then mv -f ${SAVED} ${POLICY}; fi; fi; }`,
  'shoestring_guard_restore',
  `if [ -e ${POLICY} ]; then mv -f ${POLICY} ${SAVED}; fi`,
  `printf '%s\\n' '#!/bin/sh' ${q(GUARD_MARK)} "if kill -0 $$ 2>/dev/null; then exit 101; fi" ${q(`if [ -x ${SAVED} ]; then exec ${SAVED} "$@"; fi`)} 'exit 0' > ${POLICY}`,
  `chmod 755 ${POLICY}`,
  'shoestring_on_exit shoestring_guard_restore',
].join('\n');

const NET = '-o Acquire::http::Timeout=20 -o Acquire::Retries=3';
const LOG = '/var/log/shoestring-apt.log';

function installScript(names: readonly string[], noStart: boolean): string {
  const install = `apt-get install ${NET} -y -q --no-install-recommends -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold ${names.map(q).join(' ')}`;
  // Update the package lists only when the install cannot find something. An update that hangs
  // (seen behind a caching proxy racing on the same index file) is cut off and tried again.
  const update = `updated=0; for try in 1 2 3; do if timeout 90 apt-get update ${NET} -q >>${LOG} 2>&1; then updated=1; break; fi; sleep 2; done; [ "$updated" = 1 ]`;
  const body = `${install} >${LOG} 2>&1 || { ${update} && ${install} >>${LOG} 2>&1; } || { tail -n 20 ${LOG} >&2; exit 1; }`;
  return noStart ? `${POLICY_GUARD}\n${body}\nshoestring_guard_restore` : body;
}

export const packagesKind: StepKind<PackagesStep, PackagesFact> = {
  probe: (step) =>
    [
      `dpkg-query -W -f='\${Package} \${db:Status-Abbrev}\\n' ${step.names.map(q).join(' ')} 2>/dev/null || true`,
      `if grep -qx ${q(GUARD_MARK)} ${POLICY} 2>/dev/null; then echo STALE-GUARD; fi`,
    ].join('\n'),
  parse(_step, lines) {
    const installed = new Set<string>();
    let staleGuard = false;
    for (const line of lines) {
      if (line === 'STALE-GUARD') staleGuard = true;
      const [name, status] = line.split(' ');
      if (name && status?.startsWith('ii')) installed.add(name.split(':')[0] ?? name);
    }
    return { installed, staleGuard };
  },
  decide(step, fact): Change | null {
    const base = { title: step.title, notify: [] };
    if (!step.present) {
      const there = step.names.filter((n) => fact.installed.has(n));
      if (there.length === 0) return null;
      return {
        ...base,
        summary: `purge ${there.join(' ')}`,
        script: `apt-get purge -y -q ${there.map(q).join(' ')} >${LOG} 2>&1 || { tail -n 20 ${LOG} >&2; exit 1; }`,
      };
    }
    const missing = step.names.filter((n) => !fact.installed.has(n));
    if (missing.length > 0) {
      return {
        ...base,
        summary: `install ${missing.join(' ')}`,
        script: installScript(missing, step.noStart === true),
      };
    }
    if (fact.staleGuard) {
      return {
        ...base,
        summary: `remove the start guard an interrupted install left in ${POLICY}`,
        script: `${POLICY_GUARD.split('\n')[0]}\nshoestring_guard_restore`,
      };
    }
    return null;
  },
};
