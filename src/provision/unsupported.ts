/**
 * Settings that .env accepts (they are documented and validated) but that this version does not
 * act on yet. Provision says so plainly instead of silently ignoring them (pure).
 */
import type { Config } from '../config/env.ts';

export interface Unsupported {
  /** Refuse: the user would otherwise believe they have something they do not (a database). */
  readonly refuse: string[];
  /** Go on, but say what is not done. */
  readonly warn: string[];
}

export function unsupportedSettings(config: Config): Unsupported {
  const refuse: string[] = [];
  const warn: string[] = [];
  if (config.database !== 'none') {
    refuse.push(
      `DATABASE=${config.database}: the database component is not in this version yet; set DATABASE=none (or leave it out)`,
    );
  }
  if (config.dns.provider === 'none') {
    warn.push(
      `DNS_PROVIDER=none: publish one *.${config.domain} and one ${config.domain} A record per server yourself; no health failover, no certificate (sites on HTTP)`,
    );
  }
  return { refuse, warn };
}
