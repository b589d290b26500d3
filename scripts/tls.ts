#!/bin/sh
//bin/true && exec node --import "$(dirname "$(readlink -f "$0")")/../node_modules/tsx/dist/loader.mjs" "$0" "$@"
/**
 * scripts/tls.ts renew: asks the agent's duty holder to renew the cluster certificate now (a
 * request recorded in etcd), and with --wait follows it until every server installed the new
 * one. Renewal happens by itself at two thirds of the certificate's life; this is for a
 * compromised key, a changed DOMAIN, or a test.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import {
  EXIT_CODES_HELP,
  INPUT_OPTION_HELP,
  INPUT_OPTIONS,
  numberOption,
  parseCommand,
} from '../src/cli/args.ts';
import { main } from '../src/cli/main.ts';
import { out } from '../src/cli/output.ts';
import { KEYS } from '../src/agent/keys.ts';
import type { Server } from '../src/config/servers.ts';
import { ConfigError, ShoestringError } from '../src/errors.ts';
import { ETCDCTL } from '../src/etcd/remote.ts';
import { inputPaths, loadInputs, makeTransport, targetOf } from '../src/provision/context.ts';
import { parseTlsView, TLS_VIEW_SCRIPT, type TlsView } from '../src/provision/tls.ts';
import { q } from '../src/ssh/quote.ts';

const spec = {
  usage: 'scripts/tls.ts renew [options]',
  summary:
    "Asks the agent's duty holder to renew the cluster certificate now. With --wait, waits until\nevery server has installed the new certificate.",
  options: { ...INPUT_OPTIONS, wait: { type: 'string' } },
  optionHelp: [
    ...INPUT_OPTION_HELP,
    ['--wait SECONDS', 'wait this long for the new certificate on every server (exit 1 if not)'],
  ],
  epilog: `Example:\n  scripts/tls.ts renew --lab --wait 120\n\n${EXIT_CODES_HELP}`,
  allowPositionals: true,
} as const;

main(async () => {
  const { values, positionals } = parseCommand(spec, process.argv.slice(2));
  if (positionals[0] !== 'renew' || positionals.length > 1)
    throw new ConfigError('usage: scripts/tls.ts renew [--wait SECONDS]', [], {
      hint: 'run scripts/tls.ts --help',
    });
  const wait = numberOption('wait', values.wait, 0, { min: 0, max: 3600, integer: true });
  const inputs = loadInputs(inputPaths(values));
  if (!inputs.config.acme)
    throw new ConfigError(`${inputs.config.file}: TLS is off; there is no certificate to renew`);
  const t = makeTransport(inputs.config);
  const ask = async (script: string): Promise<{ server: Server; out: string }> => {
    for (const s of inputs.servers) {
      try {
        return {
          server: s,
          out: (await t.run(targetOf(s), script, { what: 'tls', timeoutMs: 30_000 })).stdout,
        };
      } catch {
        // the next server
      }
    }
    throw new ShoestringError('no server answered', {
      hint: 'scripts/status.ts shows the servers',
    });
  };
  const before: TlsView = parseTlsView((await ask(TLS_VIEW_SCRIPT)).out);
  const at = new Date().toISOString();
  const asked = await ask(
    `${ETCDCTL} --dial-timeout=2s --command-timeout=5s put ${q(KEYS.renew)} ${q(at)} >/dev/null && echo ok`,
  );
  if (asked.out.trim() !== 'ok')
    throw new ShoestringError(`etcd on ${asked.server.spec} did not take the request`);
  out(
    `renewal asked at ${at} (current certificate: ${before.serial ?? 'none'}; duties held by ${before.holder ?? 'nobody'})`,
  );
  if (wait === 0) return 0;
  const until = Date.now() + wait * 1000;
  for (;;) {
    await sleep(3000);
    const v = parseTlsView((await ask(TLS_VIEW_SCRIPT)).out);
    const installed = [...v.installed.values()];
    if (
      v.serial &&
      v.serial !== before.serial &&
      installed.length >= inputs.servers.length &&
      installed.every((s) => s === v.serial)
    ) {
      out(`certificate ${v.serial} (valid until ${v.notAfter}) installed on every server`);
      return 0;
    }
    if (Date.now() > until) {
      out(
        `not done after ${wait} s: certificate ${v.serial ?? 'none'}${v.lastError ? `; last error: ${v.lastError}` : ''}`,
      );
      return 1;
    }
  }
});
