/**
 * Settings that .env accepts (they are documented and validated) but that this version does not
 * act on yet. Provision says so plainly instead of silently ignoring them (pure).
 */
import type { App } from '../apps/discover.ts';
import type { Config } from '../config/env.ts';

export interface Unsupported {
  /** Refuse: the user would otherwise believe they have something they do not (a database). */
  readonly refuse: string[];
  /** Go on, but say what is not done. */
  readonly warn: string[];
}

export function unsupportedSettings(config: Config, apps: readonly App[] = []): Unsupported {
  const refuse: string[] = [];
  const warn: string[] = [];
  if (config.database === 'tidb') {
    warn.push(
      `DATABASE=tidb: TiUP deploys TiDB by a plan this project's tests check but never run (TiDB cannot be downloaded in its test lab); the apps' databases and users are not made for TiDB yet: make them yourself (see README, TiDB)`,
    );
  }
  const asking = apps.filter((a) => a.database).map((a) => a.name);
  if (config.database === 'none' && asking.length > 0) {
    warn.push(
      `DATABASE=none: ${asking.join(', ')} ask${asking.length === 1 ? 's' : ''} for a database (a database file in the app's folder) and get${asking.length === 1 ? 's' : ''} none; set DATABASE=galera`,
    );
  }
  if (config.dns.provider === 'none') {
    warn.push(
      `DNS_PROVIDER=none: publish one *.${config.domain} and one ${config.domain} A record per server yourself; no health failover, no certificate (sites on HTTP)`,
    );
  }
  return { refuse, warn };
}
