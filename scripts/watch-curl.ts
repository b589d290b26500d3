#!/bin/sh
//bin/true && exec node --import "$(dirname "$(readlink -f "$0")")/../node_modules/tsx/dist/loader.mjs" "$0" "$@"
/**
 * scripts/watch-curl.ts: the seed's `watch curl` smoke test. Resolves the name's A records,
 * requests it like curl does with several records (the next address when a connection fails),
 * prints one line per request and a summary per address and per serving server.
 */
import { existsSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { parse } from 'dotenv';
import { numberOption, parseCommand } from '../src/cli/args.ts';
import { main } from '../src/cli/main.ts';
import { isTTY, out } from '../src/cli/output.ts';
import { ConfigError } from '../src/errors.ts';
import { paths as labPaths } from '../src/lab/paths.ts';
import { requestOnce, type RequestSpec } from '../src/watch/request.ts';
import { resolveA } from '../src/watch/resolve.ts';
import { guardAddress } from '../src/watch/guard.ts';
import {
  addressesFor,
  formatResult,
  formatSummary,
  isSuccess,
  newSummary,
  parseDuration,
  record,
} from '../src/watch/summary.ts';

const spec = {
  usage: 'scripts/watch-curl.ts NAME [options]',
  summary:
    'Requests http://NAME/ over and over like curl with round-robin DNS: every A record of NAME is\na candidate, the next one is tried when a connection fails. Prints\n`http_code: 200 from remote_ip: ADDRESS served_by: SERVER` per request, then a summary.',
  options: {
    dns: { type: 'string' },
    env: { type: 'string' },
    interval: { type: 'string' },
    count: { type: 'string' },
    duration: { type: 'string' },
    https: { type: 'boolean' },
    cacert: { type: 'string' },
    'max-fail': { type: 'string' },
    'resolve-all': { type: 'boolean' },
    'connect-timeout': { type: 'string' },
    timeout: { type: 'string' },
    path: { type: 'string' },
    quiet: { type: 'boolean', short: 'q' },
  },
  optionHelp: [
    ['--dns SERVER', 'DNS server to ask (default LAB_DNS from --env, else the system resolver)'],
    ['--env FILE', 'settings file to read LAB_DNS from (default .lab/.env when it exists)'],
    ['--interval T', 'pause between requests: 1s, 250ms (default 1s)'],
    ['--count N', 'stop after N requests (default 10 unless --duration)'],
    ['--duration T', 'stop after this long: 30s, 2m'],
    ['--https', 'use https:// (port 443)'],
    ['--cacert FILE', 'CA certificate(s) to trust for --https'],
    ['--max-fail N', 'exit 1 when more requests than this fail (default 0)'],
    ['--resolve-all', 'send each request to the next address in turn (no fallback)'],
    ['--connect-timeout T', 'give up connecting to one address after T (default 2s)'],
    ['--timeout T', 'give up on a request after T (default 10s)'],
    ['--path P', 'request path (default /)'],
    ['-q, --quiet', 'only print the summary'],
  ],
  epilog:
    'Examples:\n  scripts/watch-curl.ts app1.shoestring.test --count 20 --interval 250ms\n  scripts/watch-curl.ts app2.shoestring.test --resolve-all --duration 30s --max-fail 0\n\nExit codes: 0 failures within --max-fail, 1 more failed, 2 bad input or no A records.',
  allowPositionals: true,
} as const;

function duration(flag: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const ms = parseDuration(text);
  if (ms === undefined)
    throw new ConfigError(`--${flag} ${text}: expected a duration like 1s or 250ms`);
  return ms;
}

function labDns(envFile: string | undefined): string | undefined {
  const file = envFile ?? (existsSync(labPaths.env) ? labPaths.env : undefined);
  if (!file) return undefined;
  if (!existsSync(file)) throw new ConfigError(`${file} not found`);
  const v = parse(readFileSync(file))['LAB_DNS']?.trim();
  return v ? v : undefined;
}

main(async () => {
  const { values, positionals } = parseCommand(spec, process.argv.slice(2));
  const name = positionals[0];
  if (!name || positionals.length > 1)
    throw new ConfigError('name one host name to watch', [], {
      hint: 'scripts/watch-curl.ts --help',
    });
  const interval = duration('interval', values.interval, 1000);
  const total =
    values.duration !== undefined ? duration('duration', values.duration, 0) : undefined;
  const count = numberOption(
    'count',
    values.count,
    total === undefined ? 10 : Number.MAX_SAFE_INTEGER,
    { min: 1, max: 1e9, integer: true },
  );
  const maxFail = numberOption('max-fail', values['max-fail'], 0, {
    min: 0,
    max: 1e9,
    integer: true,
  });
  if (values.cacert && !existsSync(values.cacert))
    throw new ConfigError(`--cacert ${values.cacert} not found`);
  const dns = values.dns ?? labDns(values.env);
  if (dns) await guardAddress(dns);
  const req: RequestSpec = {
    name,
    path: values.path ?? '/',
    https: values.https === true,
    ca: values.cacert ? readFileSync(values.cacert) : undefined,
    connectTimeoutMs: duration('connect-timeout', values['connect-timeout'], 2000),
    timeoutMs: duration('timeout', values.timeout, 10_000),
  };

  let addresses: string[] = [];
  const refresh = async () => {
    try {
      addresses = await resolveA(name, dns);
    } catch (e) {
      // Keep the last answer; with none at all there is nothing to watch.
      if (addresses.length === 0)
        throw new ConfigError(
          `${name}: no A records${dns ? ` from ${dns}` : ''} (${e instanceof Error ? e.message : String(e)})`,
        );
    }
    for (const a of addresses) await guardAddress(a);
  };

  const summary = newSummary();
  const live = isTTY() && !values.quiet;
  const until = total === undefined ? Infinity : Date.now() + total;
  let stop = false;
  const onSigint = () => (stop = true);
  process.once('SIGINT', onSigint);
  for (let i = 0; i < count && !stop && Date.now() < until; i++) {
    if (i > 0) await sleep(interval);
    await refresh();
    const r = await requestOnce(req, addressesFor(addresses, i, values['resolve-all'] === true));
    record(summary, r);
    if (live) process.stdout.write('\r\x1b[2K');
    if (!values.quiet) out(`${isSuccess(r) ? '' : 'FAIL '}${formatResult(r)}`);
    if (live) process.stdout.write(formatSummary(summary));
  }
  process.off('SIGINT', onSigint);
  if (live) process.stdout.write('\r\x1b[2K');
  out(formatSummary(summary));
  return summary.total.fail > maxFail ? 1 : 0;
});
