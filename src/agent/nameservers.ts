/** The addresses of a zone's authoritative name servers (where ACME TXT values are checked). */
import { Resolver } from 'node:dns/promises';

export async function authoritativeServers(zone: string): Promise<string[]> {
  const r = new Resolver({ timeout: 3000, tries: 2 });
  const names = await r.resolveNs(zone);
  const addresses = await Promise.all(names.map((n) => r.resolve4(n).catch(() => [] as string[])));
  const all = [...new Set(addresses.flat())];
  if (all.length === 0) throw new Error(`no address for the name servers of ${zone}`);
  return all;
}
