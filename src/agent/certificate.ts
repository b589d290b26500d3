/**
 * The cluster's certificate as etcd keeps it, and when to renew it (pure). Renewal is due at two
 * thirds of its life (Let's Encrypt's 90 days → day 60), when it does not cover the domain, or
 * when an operator asked (`scripts/tls.ts renew`). Failed attempts back off.
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';

export interface StoredCertificate {
  /** PEM chain, leaf first. */
  readonly cert: string;
  /** PEM private key. */
  readonly key: string;
  readonly domains: readonly string[];
  readonly notBefore: string;
  readonly notAfter: string;
  readonly serial: string;
  readonly issuedBy: string;
  readonly issuedAt: string;
}

export interface CertInfo {
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly serial: string;
  readonly domains: string[];
}

export function certInfo(pem: string): CertInfo {
  const x = new X509Certificate(pem);
  const domains = (x.subjectAltName ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.startsWith('DNS:'))
    .map((s) => s.slice(4));
  return {
    notBefore: new Date(x.validFrom),
    notAfter: new Date(x.validTo),
    serial: x.serialNumber,
    domains,
  };
}

/** Does the certificate's private key match it? */
export function keyMatches(certPem: string, keyPem: string): boolean {
  try {
    return new X509Certificate(certPem).checkPrivateKey(createPrivateKey(keyPem));
  } catch {
    return false;
  }
}

export function wantedDomains(domain: string): string[] {
  return [domain, `*.${domain}`];
}

export type RenewReason = 'missing' | 'domains' | 'age' | 'requested' | undefined;

/** Pure: why the certificate must be (re)issued now, or undefined. */
export function renewalDue(
  stored: Pick<StoredCertificate, 'domains' | 'notBefore' | 'notAfter' | 'issuedAt'> | undefined,
  domain: string,
  now: number,
  requestedAt: string | undefined,
): RenewReason {
  if (!stored) return 'missing';
  const have = new Set(stored.domains);
  if (!wantedDomains(domain).every((d) => have.has(d))) return 'domains';
  const from = Date.parse(stored.notBefore);
  const to = Date.parse(stored.notAfter);
  if (now >= from + ((to - from) * 2) / 3) return 'age';
  if (requestedAt !== undefined && Date.parse(requestedAt) > Date.parse(stored.issuedAt))
    return 'requested';
  return undefined;
}

/** Pure: seconds to wait after `failures` failed attempts in a row (30 s, doubling, ≤ 1 h). */
export function backoffSeconds(failures: number): number {
  if (failures <= 0) return 0;
  return Math.min(30 * 2 ** (failures - 1), 3600);
}
