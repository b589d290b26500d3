/** Waits until authoritative DNS servers answer a TXT value (our own DNS-01 pre-check). */
import { Resolver } from 'node:dns/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { ShoestringError } from '../errors.ts';

export async function txtValues(server: string, fqdn: string): Promise<string[]> {
  const r = new Resolver({ timeout: 2000, tries: 1 });
  r.setServers([server]);
  try {
    return (await r.resolveTxt(fqdn)).map((chunks) => chunks.join(''));
  } catch {
    return [];
  }
}

/** Polls every server until each answers `value` for `fqdn`, or throws after `timeoutMs`. */
export async function waitForTxt(
  servers: readonly string[],
  fqdn: string,
  value: string,
  options: { timeoutMs?: number; guard?: () => Promise<void> } = {},
): Promise<void> {
  const timeoutMs = options.timeoutMs ?? 60_000;
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (options.guard) await options.guard();
    const answers = await Promise.all(servers.map((s) => txtValues(s, fqdn)));
    if (answers.every((a) => a.includes(value))) return;
    if (Date.now() > until) {
      throw new ShoestringError(
        `TXT ${fqdn} not visible on ${servers.join(', ')} after ${timeoutMs / 1000} s`,
        {
          hint: 'check the DNS provider credentials and that the zone is served by these servers',
        },
      );
    }
    await sleep(500);
  }
}
