/** The files the rest of Shoestring reads to use the lab: servers.txt, .env, the SSH key. */
import { chmodSync, existsSync, writeFileSync } from 'node:fs';
import { $ } from 'zx';
import { pdnsApiUrl } from './dns.ts';
import { paths } from './paths.ts';
import { acmeDirectoryUrl, pebbleCert } from './pebble.ts';
import type { LabState } from './state.ts';

export async function ensureSshKey(): Promise<void> {
  if (!existsSync(paths.key)) {
    await $`ssh-keygen -q -t ed25519 -N ${''} -C shoestring-lab -f ${paths.key}`;
  }
  chmodSync(paths.key, 0o600);
  if (!existsSync(paths.knownHosts)) writeFileSync(paths.knownHosts, '', { mode: 0o600 });
}

export function envFileText(s: LabState, hostAddress: string): string {
  const lines = [
    '# The lab (written by scripts/lab.ts up; removed by scripts/lab.ts down)',
    `DOMAIN=${s.domain}`,
    'DNS_PROVIDER=powerdns',
    `PDNS_API_URL=${pdnsApiUrl(hostAddress)}`,
    `PDNS_API_KEY=${s.pdnsApiKey}`,
    `PDNS_ZONE=${s.domain}`,
    // The lab's clients ask its DNS directly (nothing caches), so a drain need not wait a TTL.
    'DNS_DRAIN_SECONDS=2',
    `ACME_DIRECTORY_URL=${acmeDirectoryUrl(hostAddress)}`,
    `ACME_CA_BUNDLE=${pebbleCert}`,
    `ACME_EMAIL=ops@${s.domain}`,
    'SSH_USER=root',
    `SSH_KEY=${paths.key}`,
    `SSH_KNOWN_HOSTS=${paths.knownHosts}`,
    `LAB_DNS=${hostAddress}`,
    // The lab's tests log in from this machine often, some of them on purpose with a bad key.
    `FAIL2BAN_IGNORE=${hostAddress}`,
  ];
  return lines.join('\n') + '\n';
}

export function serversTxtText(s: LabState): string {
  return (
    [
      '# The lab servers (written by scripts/lab.ts up), one address per line',
      ...s.servers.map((x) => x.address),
    ].join('\n') + '\n'
  );
}

export function writeLabFiles(s: LabState, hostAddress: string): void {
  writeFileSync(paths.env, envFileText(s, hostAddress), { mode: 0o600 });
  writeFileSync(paths.serversTxt, serversTxtText(s));
}
