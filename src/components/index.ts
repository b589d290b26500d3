/** The components, in the order they are provisioned on each host. */
import { ConfigError } from '../errors.ts';
import { agent } from './agent.ts';
import { apps } from './apps.ts';
import { base } from './base.ts';
import { database } from './database.ts';
import { etcd } from './etcd.ts';
import { firewall } from './firewall.ts';
import { network } from './network.ts';
import { peers } from './peers.ts';
import { packages } from './packages.ts';
import { uwsgi } from './uwsgi.ts';
import { web } from './web.ts';
import type { Component } from './types.ts';

export const COMPONENTS: readonly Component[] = [
  base,
  packages,
  network,
  firewall,
  etcd,
  peers,
  database,
  web,
  uwsgi,
  apps,
  agent,
];

/** Selects components by name for --only; unknown names are an error listing the valid ones. */
export function selectComponents(only: string | undefined): Component[] {
  if (only === undefined) return [...COMPONENTS];
  const names = only
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const unknown = names.filter((n) => !COMPONENTS.some((c) => c.name === n));
  if (unknown.length > 0 || names.length === 0) {
    throw new ConfigError(`--only ${only}: unknown component(s) ${unknown.join(', ')}`, [], {
      hint: `choose from ${COMPONENTS.map((c) => c.name).join(', ')}`,
    });
  }
  return COMPONENTS.filter((c) => names.includes(c.name));
}
