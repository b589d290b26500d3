/**
 * An nginx site enabled (its link in sites-enabled points at sites-available) or disabled (no
 * link). Idempotence: the link is made or removed only when it differs.
 */
import { q } from '../../ssh/quote.ts';
import type { Change, Notify, StepKind } from './types.ts';

export interface NginxSiteStep {
  readonly kind: 'nginx-site';
  readonly title: string;
  readonly name: string;
  readonly enabled: boolean;
  readonly notify?: readonly Notify[];
}

/** Where sites-enabled/<name> points ('' when it is no link; undefined when absent). */
export interface NginxSiteFact {
  readonly link: string | undefined;
}

export const AVAILABLE = '/etc/nginx/sites-available';
export const ENABLED = '/etc/nginx/sites-enabled';

export const nginx = {
  site(name: string, enabled: boolean, notify?: readonly Notify[]): NginxSiteStep {
    return {
      kind: 'nginx-site',
      title: `nginx site ${name} ${enabled ? 'enabled' : 'disabled'}`,
      name,
      enabled,
      ...(notify ? { notify } : {}),
    };
  },
};

export const nginxSiteKind: StepKind<NginxSiteStep, NginxSiteFact> = {
  probe: (s) => {
    const path = q(`${ENABLED}/${s.name}`);
    return `if [ -L ${path} ]; then echo "link $(readlink ${path})"; elif [ -e ${path} ]; then echo other; else echo missing; fi`;
  },
  parse(_s, lines) {
    const line = lines[0] ?? 'missing';
    if (line.startsWith('link ')) return { link: line.slice(5) };
    return { link: line === 'other' ? '' : undefined };
  },
  decide(step, fact): Change | null {
    const want = `${AVAILABLE}/${step.name}`;
    const base = { title: step.title, notify: step.notify ?? [] };
    if (step.enabled) {
      if (fact.link === want) return null;
      return {
        ...base,
        summary: `enable nginx site ${step.name}`,
        script: `ln -sfn ${q(want)} ${q(`${ENABLED}/${step.name}`)}`,
      };
    }
    if (fact.link === undefined) return null;
    return {
      ...base,
      summary: `disable nginx site ${step.name}`,
      script: `rm -f ${q(`${ENABLED}/${step.name}`)}`,
    };
  },
};
