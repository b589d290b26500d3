/**
 * Installs the host packages the lab needs, without starting their daemons (the lab runs its
 * own instances): a temporary policy-rc.d denies service starts while apt runs.
 */
import { existsSync, unlinkSync, writeFileSync } from 'node:fs';
import { $ } from 'zx';
import { ShoestringError, tail } from '../errors.ts';

export const HOST_PACKAGES = [
  'systemd-container',
  'mmdebstrap',
  'apt-cacher-ng',
  'pdns-server',
  'pdns-backend-sqlite3',
  'sqlite3',
  'pebble',
  'openssl',
  'openssh-client',
  'iproute2',
  'dnsutils',
  // The firewall's unit test loads rulesets for real, in network namespaces of its own.
  'nftables',
] as const;

const POLICY = '/usr/sbin/policy-rc.d';

export async function missingPackages(): Promise<string[]> {
  const r =
    await $`dpkg-query -W -f ${'${Package} ${db:Status-Status}\n'} ${HOST_PACKAGES}`.nothrow();
  const installed = new Set(
    r.stdout
      .split('\n')
      .map((l) => l.split(' '))
      .filter(([, status]) => status === 'installed')
      .map(([name]) => name),
  );
  return HOST_PACKAGES.filter((p) => !installed.has(p));
}

/** Returns the packages it installed (empty when all were present). */
export async function installHostPackages(log: (line: string) => void): Promise<string[]> {
  const missing = await missingPackages();
  if (missing.length === 0) return [];
  log(`installing ${missing.join(' ')}`);
  const ownPolicy = !existsSync(POLICY);
  if (ownPolicy)
    writeFileSync(POLICY, '#!/bin/sh\n# temporary, from scripts/lab.ts install\nexit 101\n', {
      mode: 0o755,
    });
  try {
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    const update = await $({ env })`apt-get update -q`.nothrow();
    if (update.exitCode !== 0)
      throw new ShoestringError(`apt-get update exited ${update.exitCode}: ${tail(update.stderr)}`);
    const install = await $({ env })`apt-get install -y -q ${missing}`.nothrow();
    if (install.exitCode !== 0) {
      throw new ShoestringError(
        `apt-get install exited ${install.exitCode}: ${tail(install.stderr)}`,
      );
    }
  } finally {
    if (ownPolicy) unlinkSync(POLICY);
  }
  return missing;
}
