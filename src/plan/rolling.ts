/** Rolling groups (pure): the seed's PERCENT_AT_ONCE, as k0sctl does batches. */
import { clip } from '../config/clip.ts';
import { ConfigError } from '../errors.ts';

/** Accepts a fraction (0.5) or a percentage (50 or 50%); returns a fraction in (0, 1]. */
export function parsePercent(text: string): number {
  const t = text.trim();
  const m = /^(\d+(?:\.\d+)?)(%?)$/.exec(t);
  const n = m ? Number(m[1]) : NaN;
  const fraction = m?.[2] === '%' || n > 1 ? n / 100 : n;
  if (!m || !(fraction > 0) || fraction > 1) {
    throw new ConfigError(
      `--percent ${text === '' ? '""' : clip(text)}: expected a share of the fleet above 0: a fraction up to 1 (0.5) or a percentage up to 100 (50 or 50%)`,
    );
  }
  return fraction;
}

/** Splits hosts into consecutive groups of floor(n × fraction) hosts, at least one each. */
export function splitGroups<T>(items: readonly T[], fraction: number): T[][] {
  return groupsOf(items, items.length, fraction);
}

/**
 * Groups of the hosts that have work, sized on the whole fleet: floor(fleet × fraction), at
 * least one. Hosts with nothing to change are not rolled at all.
 */
export function groupsOf<T>(items: readonly T[], fleet: number, fraction: number): T[][] {
  const size = Math.max(1, Math.floor(fleet * fraction + 1e-9));
  const groups: T[][] = [];
  for (let i = 0; i < items.length; i += size) groups.push(items.slice(i, i + size));
  return groups;
}
