/**
 * Apache modules and sites enabled or disabled (a2enmod/a2dismod, a2ensite/a2dissite).
 * Idempotence: only the modules or sites whose link in *-enabled differs are touched.
 */
import { q } from '../../ssh/quote.ts';
import type { Change, Notify, StepKind } from './types.ts';

export interface ApacheModulesStep {
  readonly kind: 'apache-modules';
  readonly title: string;
  readonly names: readonly string[];
  readonly notify?: readonly Notify[];
}

export interface ApacheSiteStep {
  readonly kind: 'apache-site';
  readonly title: string;
  readonly name: string;
  readonly enabled: boolean;
  readonly notify?: readonly Notify[];
}

/** The names (of those asked about) whose link exists in mods-enabled or sites-enabled. */
export type EnabledFact = ReadonlySet<string>;

export const apache = {
  /** The modules enabled (a2enmod also enables what they depend on). */
  modules(names: readonly string[], notify?: readonly Notify[]): ApacheModulesStep {
    return {
      kind: 'apache-modules',
      title: `Apache modules ${names.join(' ')}`,
      names,
      ...(notify ? { notify } : {}),
    };
  },
  site(name: string, enabled: boolean, notify?: readonly Notify[]): ApacheSiteStep {
    return {
      kind: 'apache-site',
      title: `Apache site ${name} ${enabled ? 'enabled' : 'disabled'}`,
      name,
      enabled,
      ...(notify ? { notify } : {}),
    };
  },
};

const enabledProbe = (dir: string, names: readonly string[], suffix: string) =>
  names
    .map((n) => `if [ -e ${q(`/etc/apache2/${dir}/${n}${suffix}`)} ]; then echo ${q(n)}; fi`)
    .join('\n') || 'true';

const readNames = (_s: unknown, lines: readonly string[]): EnabledFact => new Set(lines);

export const apacheModulesKind: StepKind<ApacheModulesStep, EnabledFact> = {
  probe: (s) => enabledProbe('mods-enabled', s.names, '.load'),
  parse: readNames,
  decide(step, fact): Change | null {
    const missing = step.names.filter((n) => !fact.has(n));
    if (missing.length === 0) return null;
    return {
      title: step.title,
      summary: `enable Apache modules ${missing.join(' ')}`,
      script: `a2enmod -q ${missing.map(q).join(' ')} >/dev/null`,
      notify: step.notify ?? [],
    };
  },
};

export const apacheSiteKind: StepKind<ApacheSiteStep, EnabledFact> = {
  probe: (s) => enabledProbe('sites-enabled', [s.name], '.conf'),
  parse: readNames,
  decide(step, fact): Change | null {
    if (fact.has(step.name) === step.enabled) return null;
    const tool = step.enabled ? 'a2ensite' : 'a2dissite';
    return {
      title: step.title,
      summary: `${step.enabled ? 'enable' : 'disable'} Apache site ${step.name}`,
      script: `${tool} -q ${q(step.name)} >/dev/null`,
      notify: step.notify ?? [],
    };
  },
};
