/**
 * The firewall: one nftables table (`inet shoestring`) letting in SSH, the web, WireGuard from
 * the servers and the private network from the servers; and fail2ban for SSH. A new ruleset is
 * tried, not trusted: `shoestring-firewall try` loads it and arms a rollback, and the phase's
 * confirm gate confirms it over a new SSH connection before the rollback fires. FIREWALL=off
 * takes our table and unit away; FAIL2BAN=off stops fail2ban and takes our jail away.
 */
import { helperScript, unitFile } from '../firewall/helper.ts';
import { renderJail } from '../firewall/jail.ts';
import {
  CONNECT_TIMEOUT,
  GATE_SECONDS,
  HELPER,
  JAIL,
  ROLLBACK_SECONDS,
  ROLLBACK_UNIT,
  RULESET,
  SERVICE,
  STATE_DIR,
  TABLE,
  UNIT_FILE,
} from '../firewall/paths.ts';
import { firewallPlan, SSHD_PORTS_SURVEY } from '../firewall/plan.ts';
import { renderRuleset } from '../firewall/ruleset.ts';
import { confirmVerdict, ROLLED_BACK_HINT } from '../firewall/verdict.ts';
import type { Gate, Phase } from '../plan/phase.ts';
import { apt, files, shell, systemd, type Step } from '../plan/steps/index.ts';
import { q } from '../ssh/quote.ts';
import type { ClusterContext, Component, HostContext } from './types.ts';

/** `confirm` over a new SSH connection, within a budget longer than the rollback delay. */
export function confirmGate(ctx: HostContext): Gate {
  const host = ctx.self.target.name;
  return {
    title: 'firewall confirmed over a new SSH connection',
    probe: `${HELPER} confirm`,
    verdict: (out) => confirmVerdict(host, out),
    hint: `${ROLLED_BACK_HINT}; on ${ctx.self.server.spec}, ${HELPER} status tells what is loaded`,
    seconds: GATE_SECONDS,
    fresh: { connectTimeout: CONNECT_TIMEOUT },
  };
}

/**
 * The ruleset and fail2ban's jail: the same files on every server, made once per run (with
 * hundreds of servers, making them again for each server was a quadratic share of planning).
 */
export interface FirewallFiles {
  readonly ruleset: string;
  readonly jail: string;
}

export function firewallFiles(ctx: ClusterContext): FirewallFiles {
  return { ruleset: renderRuleset(firewallPlan(ctx)), jail: renderJail(ctx) };
}

export function firewallPhase(ctx: HostContext, made = firewallFiles(ctx)): Phase {
  return {
    title: 'Firewall (nftables)',
    steps: [
      apt.packages(['nftables']),
      files.file(HELPER, helperScript(), { mode: '0700' }),
      files.file(UNIT_FILE, unitFile()),
      systemd.daemonReload([{ unit: SERVICE, files: [UNIT_FILE] }]),
      // Checked by nft in place; the previous file is put back when the check fails.
      files.file(RULESET, made.ruleset, {
        validate: `nft -c -f ${q(RULESET)}`,
      }),
      // Not yet running (a first install): its start tries the file, never confirmed yet.
      systemd.service(SERVICE),
      // Due unless the file is loaded, confirmed and nothing is pending; tried unless it is
      // loaded already (the start above, or a try a cut run left pending: the confirm gate then
      // confirms it). Run here, not as the unit's reload: a reload of this oneshot unit failed
      // now and then in containers (219/CGROUP).
      shell.command(
        'Try the firewall ruleset',
        `${HELPER} status`,
        `${HELPER} loaded >/dev/null || ${HELPER} try >/dev/null`,
        [],
        { after: [RULESET] },
      ),
    ],
    confirm: confirmGate(ctx),
  };
}

/** Our table unloaded (and a pending rollback disarmed), the unit, helper and files gone. */
export function firewallRemoval(): Step[] {
  const timer = `${ROLLBACK_UNIT}.timer`;
  return [
    shell.command(
      'Unload the firewall table',
      `! nft list table ${TABLE} >/dev/null 2>&1 && ! systemctl is-active -q ${timer}`,
      [
        `systemctl stop ${timer} ${ROLLBACK_UNIT}.service 2>/dev/null || true`,
        `systemctl reset-failed ${timer} ${ROLLBACK_UNIT}.service 2>/dev/null || true`,
        `printf 'table ${TABLE} {}\\ndelete table ${TABLE}\\n' | nft -f -`,
      ].join('\n'),
    ),
    systemd.unitAbsent(SERVICE, [UNIT_FILE]),
    files.absent(HELPER),
    files.absent(RULESET),
    files.absent(STATE_DIR),
  ];
}

export function fail2banPhase(ctx: HostContext, made = firewallFiles(ctx)): Phase {
  return {
    title: 'fail2ban',
    steps: [
      // Not started by the install: Debian's default jail reads a log bookworm does not have.
      apt.packages(['fail2ban', 'python3-systemd', 'nftables'], { noStart: true }),
      files.file(JAIL, made.jail, {
        validate: 'fail2ban-client -t',
        notify: [{ service: 'fail2ban', action: 'restart' }],
      }),
      systemd.service('fail2ban'),
    ],
  };
}

/** fail2ban stopped and our jail gone (the package stays; a no-op where it is not installed). */
export function fail2banRemoval(): Step[] {
  return [systemd.service('fail2ban', { enabled: false, running: false }), files.absent(JAIL)];
}

export function firewallPhases(ctx: HostContext, made = firewallFiles(ctx)): Phase[] {
  const { enabled, fail2ban } = ctx.config.firewall;
  return [
    enabled
      ? firewallPhase(ctx, made)
      : { title: 'No Shoestring firewall (FIREWALL=off)', steps: firewallRemoval() },
    fail2ban
      ? fail2banPhase(ctx, made)
      : { title: 'No fail2ban (FAIL2BAN=off)', steps: fail2banRemoval() },
  ];
}

export const firewall: Component<FirewallFiles> = {
  name: 'firewall',
  description: `nftables (SSH, 80, 443, the cluster), confirmed over a new SSH connection or rolled back after ${ROLLBACK_SECONDS} s; fail2ban for SSH`,
  survey: SSHD_PORTS_SURVEY,
  prepare: (ctx) => Promise.resolve(firewallFiles(ctx)),
  phases: (ctx, made) => firewallPhases(ctx, made),
  teardown: () => [
    { title: 'Remove the firewall', steps: [...firewallRemoval(), ...fail2banRemoval()] },
  ],
};
