/** Preflight facts: one read-only round trip per host, parsed by a pure function. */
import { FactError } from '../errors.ts';
import { readSections, section } from '../plan/sections.ts';

export interface HostFacts {
  readonly hostname: string;
  readonly osId: string;
  readonly osVersion: string;
  readonly osPretty: string;
  readonly addresses: readonly string[];
  readonly memMiB: number;
  readonly cpus: number;
  readonly diskFreeMiB: number;
  readonly epoch: number;
  readonly container: string;
  readonly systemd: boolean;
  /** Listening TCP ports → process names. */
  readonly listening: ReadonlyMap<number, string>;
  /** Shoestring provisioned this server before. */
  readonly provisioned: boolean;
}

export const PREFLIGHT_SCRIPT = `
${section('facts')}
. /etc/os-release 2>/dev/null || true
echo "hostname=$(hostname)"
echo "os_id=\${ID:-unknown}"
echo "os_version=\${VERSION_ID:-unknown}"
echo "os_pretty=\${PRETTY_NAME:-unknown}"
echo "addresses=$(hostname -I 2>/dev/null || true)"
echo "mem_kib=$(awk '/^MemTotal:/ {print $2}' /proc/meminfo)"
echo "cpus=$(nproc)"
echo "disk_kib=$(df -Pk / | awk 'NR==2 {print $4}')"
echo "epoch=$(date +%s)"
echo "container=$(systemd-detect-virt -c 2>/dev/null || echo none)"
if [ -d /run/systemd/system ]; then echo systemd=yes; else echo systemd=no; fi
if [ -e /var/lib/shoestring/provisioned ]; then echo provisioned=yes; else echo provisioned=no; fi
${section('listening')}
(ss -ltnpH 2>/dev/null || true) | awk '{print $4" "$6}'
`;

export function parsePreflight(output: string, host: string): HostFacts {
  const sections = readSections(output);
  const head = (sections.get('facts') ?? []).join('\n');
  const listeningText = (sections.get('listening') ?? []).join('\n');
  const kv = new Map<string, string>();
  for (const line of head.split('\n')) {
    const i = line.indexOf('=');
    if (i > 0) kv.set(line.slice(0, i).trim(), line.slice(i + 1).trim());
  }
  const num = (key: string): number => {
    const n = Number(kv.get(key));
    if (!Number.isFinite(n))
      throw new FactError(`${host}: preflight could not read ${key} (got "${kv.get(key) ?? ''}")`);
    return n;
  };
  const listening = new Map<number, string>();
  for (const line of listeningText.split('\n')) {
    const [local = '', proc = ''] = line.trim().split(' ');
    const port = Number(local.slice(local.lastIndexOf(':') + 1));
    if (!Number.isInteger(port) || port <= 0) continue;
    const name = /users:\(\("([^"]+)"/.exec(proc)?.[1] ?? 'unknown';
    if (!listening.has(port)) listening.set(port, name);
  }
  return {
    hostname: kv.get('hostname') ?? '',
    osId: kv.get('os_id') ?? 'unknown',
    osVersion: kv.get('os_version') ?? 'unknown',
    osPretty: kv.get('os_pretty') ?? 'unknown',
    addresses: (kv.get('addresses') ?? '').split(/\s+/).filter(Boolean),
    memMiB: Math.round(num('mem_kib') / 1024),
    cpus: num('cpus'),
    diskFreeMiB: Math.round(num('disk_kib') / 1024),
    epoch: num('epoch'),
    container: kv.get('container') ?? 'none',
    systemd: kv.get('systemd') === 'yes',
    listening,
    provisioned: kv.get('provisioned') === 'yes',
  };
}
