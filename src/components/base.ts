/** Base: the state directories, /etc/hosts naming every server, time sync, basic tools. */
import type { Phase } from '../plan/phase.ts';
import { apt, files, systemd } from '../plan/steps/index.ts';
import { render } from '../templates.ts';
import type { ClusterContext, Component, HostContext } from './types.ts';

export const STATE_DIR = '/var/lib/shoestring';
export const CONFIG_DIR = '/etc/shoestring';

/** /etc/hosts: every server's private address and name, the same file on every server. */
export function hostsFile(ctx: ClusterContext): string {
  return render('base/hosts.hbs', {
    servers: ctx.servers.map((s) => ({ address: s.private, hostname: s.hostname })),
  });
}

/** `hosts`: hostsFile(ctx), made once per run (it lists every server). */
export function basePhase(ctx: HostContext, hosts = hostsFile(ctx)): Phase {
  const inContainer = ctx.self.facts.container !== 'none';
  return {
    title: 'Base system',
    steps: [
      apt.packages(['ca-certificates', 'curl', 'iproute2', 'procps']),
      files.directory(STATE_DIR, { mode: '0755' }),
      files.directory(CONFIG_DIR, { mode: '0755' }),
      files.file('/etc/hosts', hosts),
      // A container shares the host's clock; systemd-timesyncd refuses to run there.
      ...(inContainer
        ? []
        : [apt.packages(['systemd-timesyncd']), systemd.service('systemd-timesyncd')]),
      files.file(`${STATE_DIR}/provisioned`, 'shoestring\n'),
    ],
  };
}

export const base: Component<string> = {
  name: 'base',
  description: 'state directories, /etc/hosts, time sync',
  prepare: (ctx) => Promise.resolve(hostsFile(ctx)),
  phases: (ctx, hosts) => [basePhase(ctx, hosts)],
  teardown: () => [
    {
      title: 'Remove Shoestring state',
      // STATE_DIR itself stays: it may hold the operator lock of the run doing this.
      steps: [files.absent(`${STATE_DIR}/provisioned`), files.absent(CONFIG_DIR)],
    },
  ],
};
