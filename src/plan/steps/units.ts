/**
 * systemd unit state for probes: one `systemctl show` for every unit a probe script asks about
 * (each systemctl call costs a process and a D-Bus round trip; a host's plan asks about some
 * thirty properties), kept in a shell table that the unit kinds' probes read with
 * `shoestring_unit UNIT PROPERTY`. A unit not loaded up front is asked for on first use.
 */
import { q } from '../../ssh/quote.ts';

export const UNIT_PROPERTIES = [
  'Id',
  'UnitFileState',
  'ActiveState',
  'NeedDaemonReload',
  'FragmentPath',
  'DropInPaths',
] as const;

/** `etcd` → `etcd.service` (how systemd names it in Id=). */
export function unitName(unit: string): string {
  return unit.includes('.') ? unit : `${unit}.service`;
}

/** Shell defining the table and `shoestring_unit`, loading `units` in one call. */
export function unitPrelude(units: readonly string[]): string {
  const props = UNIT_PROPERTIES.join(',');
  return [
    'declare -A shoestring_unit_cache=()',
    'shoestring_unit_load() {',
    '  local key value',
    // One "id|property=value" line per property, whatever order systemctl prints them in.
    `  while IFS='=' read -r key value; do shoestring_unit_cache["$key"]=$value; done < <(systemctl show -p ${props} "$@" 2>/dev/null | awk 'BEGIN { RS = ""; FS = "\\n" } { id = ""; for (i = 1; i <= NF; i++) if ($i ~ /^Id=/) id = substr($i, 4); for (i = 1; i <= NF; i++) print id "|" $i }' || true)`,
    '}',
    'shoestring_unit() {',
    '  local u=$1',
    '  case "$u" in *.*) ;; *) u=$u.service ;; esac',
    '  if [ -z "${shoestring_unit_cache["$u|Id"]+set}" ]; then shoestring_unit_load "$u"; fi',
    '  printf \'%s\\n\' "${shoestring_unit_cache["$u|$2"]-}"',
    '}',
    ...(units.length > 0
      ? [`shoestring_unit_load ${units.map((u) => q(unitName(u))).join(' ')}`]
      : []),
  ].join('\n');
}
