/**
 * The certificate duty (the election holder only): obtain one certificate for DOMAIN and
 * *.DOMAIN by ACME DNS-01 when none is in etcd, when it reaches two thirds of its life, or when
 * renewal was asked for; keep the ACME account key and the certificate in etcd. Failures back
 * off (30 s, doubling, at most an hour) and are recorded for status.
 */
import { issueWildcard } from '../acme/issue.ts';
import type { DnsProvider } from '../dns/types.ts';
import { registerSecret } from '../redact.ts';
import type { AgentConfig } from './config.ts';
import { backoffSeconds, certInfo, renewalDue, type StoredCertificate } from './certificate.ts';
import { parseJson, type EtcdGateway } from './etcd-gateway.ts';
import { KEYS } from './keys.ts';
import { authoritativeServers } from './nameservers.ts';

export interface TlsStatus {
  readonly lastAttempt: string | undefined;
  readonly lastError: string | undefined;
  readonly failures: number;
  readonly nextAttempt: string | undefined;
  readonly lastIssued: string | undefined;
}

/** The certificate as etcd holds it (its key registered as a secret at once). */
export function parseCertificate(value: string): StoredCertificate | undefined {
  const c = parseJson<StoredCertificate>(value);
  if (c?.key) registerSecret(c.key);
  return c;
}

export async function storedCertificate(etcd: EtcdGateway): Promise<StoredCertificate | undefined> {
  const kv = await etcd.get(KEYS.certificate);
  return kv ? parseCertificate(kv.value) : undefined;
}

export class CertDuty {
  #failures = 0;
  #notBefore = 0;
  #lastIssued: string | undefined;

  constructor(
    private readonly etcd: EtcdGateway,
    private readonly dns: DnsProvider,
    private readonly config: AgentConfig,
    private readonly holding: () => boolean,
    private readonly log: (line: string) => void,
  ) {}

  async round(now = Date.now()): Promise<void> {
    const acme = this.config.acme;
    if (!acme || now < this.#notBefore) return;
    const stored = await storedCertificate(this.etcd);
    const requested = (await this.etcd.get(KEYS.renew))?.value;
    const why = renewalDue(stored, this.config.domain, now, requested);
    if (why === undefined || !this.holding()) return;
    const domains = `${this.config.domain}, *.${this.config.domain}`;
    this.log(`certificate: requesting ${domains} from ${acme.directoryUrl} (${why})`);
    const attempt = new Date(now).toISOString();
    try {
      const account = await this.etcd.get(KEYS.account);
      const authoritative =
        this.config.authoritative.length > 0
          ? this.config.authoritative
          : await authoritativeServers(
              this.config.dns.provider === 'none' ? this.config.domain : this.config.dns.zone,
            );
      const issued = await issueWildcard({
        directoryUrl: acme.directoryUrl,
        domain: this.config.domain,
        email: acme.email,
        dns: this.dns,
        authoritativeServers: authoritative,
        ...(acme.caBundle ? { caBundle: acme.caBundle } : {}),
        ...(account ? { accountKey: account.value } : {}),
        log: this.log,
      });
      if (!account && issued.accountKey) await this.etcd.put(KEYS.account, issued.accountKey);
      const info = certInfo(issued.cert);
      const record: StoredCertificate = {
        cert: issued.cert,
        key: issued.key,
        domains: info.domains,
        notBefore: info.notBefore.toISOString(),
        notAfter: info.notAfter.toISOString(),
        serial: info.serial,
        issuedBy: this.config.host,
        issuedAt: new Date().toISOString(),
      };
      await this.etcd.put(KEYS.certificate, JSON.stringify(record));
      this.#failures = 0;
      this.#notBefore = 0;
      this.#lastIssued = record.issuedAt;
      this.log(
        `certificate: serial ${info.serial}, valid until ${record.notAfter}, stored in etcd`,
      );
      await this.#status(attempt, undefined);
    } catch (e) {
      this.#failures += 1;
      const wait = backoffSeconds(this.#failures);
      this.#notBefore = Date.now() + wait * 1000;
      const message = e instanceof Error ? e.message : String(e);
      this.log(`certificate: failed (${message}); next attempt in ${wait} s`);
      await this.#status(attempt, message).catch(() => undefined);
    }
  }

  async #status(attempt: string, error: string | undefined): Promise<void> {
    const status: TlsStatus = {
      lastAttempt: attempt,
      lastError: error,
      failures: this.#failures,
      nextAttempt: this.#notBefore > 0 ? new Date(this.#notBefore).toISOString() : undefined,
      lastIssued: this.#lastIssued,
    };
    await this.etcd.put(KEYS.tlsStatus, JSON.stringify(status));
  }
}
