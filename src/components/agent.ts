/**
 * The agent on every server (see src/agent/): Debian's nodejs, the agent built into one file on
 * the operator's machine, its configuration (0600 root: it holds the DNS provider's
 * credentials) and its systemd unit. Always installed: every server's agent takes silent
 * servers off its local fastrouter; with DNS_PROVIDER set it also does DNS and the certificate.
 */
import { readFileSync } from 'node:fs';
import { agentBundle } from '../agent/bundle.ts';
import { agentConfig } from '../agent/config.ts';
import {
  AGENT_BUNDLE,
  AGENT_CONFIG,
  AGENT_DIR,
  AGENT_SERVICE,
  KEYS,
  NGINX_TLS_SNIPPET,
  TLS_CERT,
  TLS_KEY,
} from '../agent/keys.ts';
import { ETCDCTL } from '../etcd/remote.ts';
import type { Phase } from '../plan/phase.ts';
import { apt, files, shell, systemd, type Notify } from '../plan/steps/index.ts';
import { q } from '../ssh/quote.ts';
import { render } from '../templates.ts';
import type { Component, HostContext } from './types.ts';

const UNIT_FILE = `/etc/systemd/system/${AGENT_SERVICE}.service`;

export interface AgentState {
  /** The agent's code, built once per run. */
  readonly bundle: string;
  /** The ACME server's CA (ACME_CA_BUNDLE's content), for test CAs. */
  readonly caBundle: string | undefined;
}

export function unitFile(): string {
  return render('agent/shoestring-agent.service.hbs', {
    bundle: AGENT_BUNDLE,
    after: 'etcd.service shoestring-etcd-proxy.service wg-quick@wg0.service uwsgi-emperor.service',
  });
}

/** The agent's configuration text for this server (JSON; secrets inside). */
export function agentConfigText(ctx: HostContext, caBundle: string | undefined): string {
  return `${JSON.stringify(agentConfig(ctx.config, ctx.self.hostname, ctx.self.private, caBundle), null, 2)}\n`;
}

function installPhase(ctx: HostContext, state: AgentState): Phase {
  const restart: Notify = { service: AGENT_SERVICE, action: 'restart' };
  return {
    title: 'Shoestring agent',
    steps: [
      apt.packages(['nodejs']),
      files.directory(AGENT_DIR),
      // Not secret, but megabytes of bundled code: never diffed or read back.
      files.file(AGENT_BUNDLE, state.bundle, {
        title: 'The agent (built from src/agent)',
        secret: true,
        notify: [restart],
      }),
      files.file(AGENT_CONFIG, agentConfigText(ctx, state.caBundle), {
        title: "The agent's configuration (DNS credentials)",
        mode: '0600',
        secret: true,
        notify: [restart],
      }),
      files.file(UNIT_FILE, unitFile(), { notify: [restart] }),
      systemd.daemonReload([{ unit: AGENT_SERVICE, files: [UNIT_FILE] }]),
      systemd.service(AGENT_SERVICE),
    ],
  };
}

function removalSteps() {
  return [
    systemd.unitAbsent(AGENT_SERVICE, [UNIT_FILE]),
    files.absent(AGENT_CONFIG),
    files.absent(AGENT_BUNDLE),
  ];
}

export const agent: Component<AgentState> = {
  name: 'agent',
  description:
    'the agent: DNS health failover and the cluster certificate (when DNS_PROVIDER is set)',
  async prepare(ctx) {
    const ca = ctx.config.acme?.caBundle;
    return { bundle: await agentBundle(), caBundle: ca ? readFileSync(ca, 'utf8') : undefined };
  },
  phases: (ctx, state) => [installPhase(ctx, state)],
  teardown: (ctx) => [
    {
      title: 'Remove the Shoestring agent and the certificate',
      steps: [
        ...removalSteps(),
        files.absent(TLS_KEY),
        files.absent(TLS_CERT),
        files.absent(NGINX_TLS_SNIPPET),
        shell.command(
          "Forget this server's installed certificate in etcd",
          `! { ${ETCDCTL} --command-timeout=5s get --keys-only ${q(`${KEYS.installedPrefix}${ctx.self.hostname}`)} 2>/dev/null || true; } | grep -q .`,
          `${ETCDCTL} --command-timeout=5s del ${q(`${KEYS.installedPrefix}${ctx.self.hostname}`)} >/dev/null || true`,
        ),
      ],
    },
  ],
};
