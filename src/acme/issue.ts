/**
 * Issues a certificate for a domain and its wildcard ([domain, *.domain]) over ACME DNS-01,
 * with TXT records set through any DnsProvider. acme-client's own pre-check asks public
 * resolvers, so it is skipped; instead we poll the zone's authoritative servers ourselves.
 */
import { Agent } from 'node:https';
import acme from 'acme-client';
import type { DnsProvider } from '../dns/types.ts';
import { ShoestringError } from '../errors.ts';
import { registerSecret } from '../redact.ts';
import { waitForTxt } from './txtcheck.ts';

export interface IssueOptions {
  directoryUrl: string;
  domain: string;
  email: string;
  dns: DnsProvider;
  /** Authoritative DNS servers (IP or IP:port) to poll until each challenge TXT is visible. */
  authoritativeServers: readonly string[];
  /** PEM of the CA that signs the ACME server's HTTPS certificate (a private CA like pebble's). */
  caBundle?: string;
  /** Reuse an account key (PEM); a new one is made otherwise. */
  accountKey?: string;
  txtTtl?: number;
  log?: (line: string) => void;
  /** Called before talking to the ACME server and before each DNS poll (the lab checks its bridge). */
  guard?: () => Promise<void>;
}

export interface IssuedCertificate {
  /** PEM private key of the certificate. */
  key: string;
  /** PEM certificate chain (leaf first). */
  cert: string;
  domains: string[];
  /** PEM of the ACME account key used (the one given, or a new one to keep). */
  accountKey: string;
}

export async function issueWildcard(opts: IssueOptions): Promise<IssuedCertificate> {
  const log = opts.log ?? (() => undefined);
  const guard = opts.guard ?? (() => Promise.resolve());
  await guard();
  const domains = [opts.domain, `*.${opts.domain}`];
  if (opts.caBundle !== undefined) {
    // acme-client talks through its own axios instance; trust the given CA for it.
    acme.axios.defaults.httpsAgent = new Agent({ ca: opts.caBundle });
  }
  const accountKey = opts.accountKey ?? (await acme.crypto.createPrivateEcdsaKey()).toString();
  registerSecret(accountKey);
  const client = new acme.Client({ directoryUrl: opts.directoryUrl, accountKey });
  const [key, csr] = await acme.crypto.createCsr({ commonName: opts.domain, altNames: domains });
  registerSecret(key.toString());
  const ttl = opts.txtTtl ?? 60;
  const txtName = (identifier: string): string => `_acme-challenge.${identifier}`;
  try {
    const cert = await client.auto({
      csr,
      email: opts.email,
      termsOfServiceAgreed: true,
      challengePriority: ['dns-01'],
      skipChallengeVerification: true,
      challengeCreateFn: async (authz, _challenge, value) => {
        const name = txtName(authz.identifier.value);
        log(`dns: TXT ${name} +${value.slice(0, 8)}…`);
        await opts.dns.addTxt(name, value, ttl);
        await waitForTxt(opts.authoritativeServers, name, value, { guard });
      },
      challengeRemoveFn: async (authz, _challenge, value) => {
        await opts.dns.removeTxt(txtName(authz.identifier.value), value);
      },
    });
    return { key: key.toString(), cert, domains, accountKey };
  } catch (e) {
    if (e instanceof ShoestringError) throw e;
    throw new ShoestringError(
      `ACME order for ${domains.join(', ')} failed: ${e instanceof Error ? e.message : String(e)}`,
      {
        hint: `check ${opts.directoryUrl} and the DNS provider ${opts.dns.name}`,
        cause: e,
      },
    );
  }
}
