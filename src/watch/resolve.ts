/** A records for the watched name: from the given DNS server, else the system's resolver. */
import { Resolver } from 'node:dns/promises';

export async function resolveA(name: string, server: string | undefined): Promise<string[]> {
  const r = new Resolver({ timeout: 2000, tries: 2 });
  if (server) r.setServers([server]);
  const addresses = await r.resolve4(name);
  return [...addresses].sort((a, b) => a.localeCompare(b, undefined, { numeric: true }));
}
