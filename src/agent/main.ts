/**
 * The Shoestring agent: one program on every server (systemd unit shoestring-agent, its log in
 * the journal). Every server installs the cluster's certificate from etcd. The server holding
 * the etcd election also does the duties that must happen once for the cluster: DNS health
 * failover and the certificate's issue and renewal. Bundled into one file by provision.
 */
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { CA_CERT, CLIENT_CERT, CLIENT_KEY } from '../etcd/pki.ts';
import { ETCD_CLIENT, PROXY_ENV } from '../etcd/remote.ts';
import { proxyEndpoints } from './config.ts';
import { dnsProviderFor } from '../dns/provider.ts';
import { redact } from '../redact.ts';
import { CertDuty } from './cert-duty.ts';
import { CertInstaller } from './cert-install.ts';
import { AGENT_CONFIG, PEERS_PREFIX } from './keys.ts';
import { DnsDuty } from './dns-duty.ts';
import { Election } from './election.ts';
import { EtcdGateway } from './etcd-gateway.ts';
import { MeshWatch } from './mesh.ts';
import { localReadiness } from './readiness.ts';
import { deserializeDns, parseAgentConfig } from './config.ts';

const log = (line: string): void => {
  process.stdout.write(`${redact(line)}\n`);
};

/** Runs `fn` every `ms` until stopped; one run at a time; errors are logged, not fatal. */
async function every(
  ms: number,
  what: string,
  stopped: () => boolean,
  fn: () => Promise<void>,
): Promise<void> {
  let lastError = '';
  while (!stopped()) {
    const started = Date.now();
    try {
      await fn();
      lastError = '';
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      // Say it once, not every round.
      if (message !== lastError) log(`${what}: ${message}`);
      lastError = message;
    }
    await sleep(Math.max(0, ms - (Date.now() - started)));
  }
}

/**
 * Where this server reaches etcd's JSON gateway: its own member on loopback, or, on a server
 * beyond the voters, the members its etcd proxy forwards to (the gRPC proxy has no gateway).
 */
function etcdEndpoints(): string[] {
  return proxyEndpoints(readOr(PROXY_ENV)) ?? [ETCD_CLIENT];
}

function readOr(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

async function main(): Promise<void> {
  const config = parseAgentConfig(readFileSync(AGENT_CONFIG, 'utf8'), AGENT_CONFIG);
  const dnsConfig = deserializeDns(config.dns);
  const etcd = new EtcdGateway(etcdEndpoints, { ca: CA_CERT, cert: CLIENT_CERT, key: CLIENT_KEY });
  const election = new Election(etcd, config.host, config.election);
  const holding = (): boolean => election.holding();
  const provider = dnsProviderFor(dnsConfig);
  const dnsDuty = provider ? new DnsDuty(etcd, provider, config, holding, log) : undefined;
  const certDuty = provider ? new CertDuty(etcd, provider, config, holding, log) : undefined;
  const installer = new CertInstaller(etcd, config.host, config.web, config.domain, log);
  let stopping = false;
  let drainUntil = 0;
  const stopped = (): boolean => stopping;
  log(
    `agent on ${config.host}: DNS ${dnsConfig.provider}, TLS ${config.acme ? config.acme.directoryUrl : 'off'}`,
  );
  let held = false;
  const mesh = new MeshWatch({
    self: config.private,
    statsPort: config.ports.fastrouterStats,
    subscriptionPort: config.ports.subscription,
    log,
  });
  let meshStarted = false;
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.on(signal, () => {
      if (stopping) return;
      stopping = true;
      // Leave the mesh first: the routers take this server's instances off before they stop.
      if (!meshStarted) return;
      const ms = mesh.leave();
      drainUntil = Date.now() + ms;
      log(
        `stopping: leaving the mesh (no more answers; ${ms} ms for the routers and requests in flight)`,
      );
    });
  }
  const tasks = [
    // The other servers' private addresses, from etcd (kept when etcd does not answer).
    every(5000, 'mesh', stopped, async () => {
      if (!meshStarted) {
        await mesh.start(); // the private address may not be up yet: retried
        meshStarted = true;
        log(`mesh: watching the other servers from ${config.private}`);
      }
      const peers = (await etcd.getPrefix(PEERS_PREFIX)).flatMap((kv) => {
        try {
          const p = (JSON.parse(kv.value) as { private?: string }).private;
          return p ? [p] : [];
        } catch {
          return [];
        }
      });
      mesh.peers = peers;
    }),
    // Readiness (a database proxy with a member up): a server that is not ready leaves the mesh.
    every(250, 'readiness', stopped, async () => {
      const r = await localReadiness();
      if (r.ready !== mesh.ready)
        log(
          r.ready
            ? 'mesh: ready again: answering the other servers'
            : `mesh: not ready (${r.why ?? '?'}): this server's instances leave every fastrouter`,
        );
      mesh.ready = r.ready;
    }),
    every(2000, 'election', stopped, async () => {
      const now = await election.step();
      if (now !== held) {
        log(now ? 'holding the duties (DNS health, certificate)' : 'not holding the duties');
        held = now;
        if (!now) dnsDuty?.reset();
      }
    }),
    every(config.health.everySeconds * 1000, 'DNS', stopped, async () => {
      if (!dnsDuty || !holding()) return;
      dnsDuty.https = CertInstaller.installed();
      await dnsDuty.round();
    }),
    every(10_000, 'certificate', stopped, async () => {
      if (certDuty && holding()) await certDuty.round();
    }),
    every(5000, 'install', stopped, () => installer.round()),
  ];
  await Promise.all(tasks);
  if (drainUntil > Date.now()) await sleep(drainUntil - Date.now());
  if (meshStarted) mesh.stop();
  await election.resign();
  log('agent stopped');
}

main().catch((e: unknown) => {
  log(`agent failed: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});
