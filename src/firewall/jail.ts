/** fail2ban's settings for the cluster (pure): the SSH ports, and who is never banned. */
import type { ClusterContext } from '../components/types.ts';
import { render } from '../templates.ts';
import { sshPorts } from './plan.ts';

/** Loopback, every server's public and private address, then FAIL2BAN_IGNORE; each once. */
export function ignoredAddresses(ctx: ClusterContext): string[] {
  return [
    ...new Set([
      '127.0.0.1/8',
      '::1',
      ...ctx.servers.flatMap((s) => [s.address, s.private]),
      ...ctx.config.firewall.fail2banIgnore,
    ]),
  ];
}

export function renderJail(ctx: ClusterContext): string {
  return render('firewall/shoestring.conf.hbs', {
    ports: sshPorts(ctx).join(','),
    ignoreip: ignoredAddresses(ctx).join(' '),
  });
}
