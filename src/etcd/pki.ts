/**
 * The etcd cluster CA: generated once with openssl on the first server, then kept in the
 * cluster (every server holds it under /etc/shoestring/etcd-pki, and etcd holds a copy once it
 * runs). Provision reads it back from there on later runs and never makes a new one while any
 * copy exists. Each server issues its own certificates from it (see the etcd component): a
 * member's server certificate, a proxy's, and root's client certificate. Only root reads the CA
 * key and root's client key; the directory is 0750 root:etcd so that etcd reads its own key and
 * no other user (www-data, the apps) gets in at all.
 */
import { section } from '../plan/sections.ts';
import { q } from '../ssh/quote.ts';

export const PKI_DIR = '/etc/shoestring/etcd-pki';
export const CA_CERT = `${PKI_DIR}/ca.crt`;
export const CA_KEY = `${PKI_DIR}/ca.key`;
/** A member's certificate: it authenticates to its peers and serves its client API. */
export const PEER_CERT = `${PKI_DIR}/peer.crt`;
export const PEER_KEY = `${PKI_DIR}/peer.key`;
/**
 * A proxy's certificate, client and server: it authenticates to the voters and serves the local
 * client API. No common name: etcd's gRPC proxy refuses a client certificate that has one.
 */
export const PROXY_CERT = `${PKI_DIR}/proxy.crt`;
export const PROXY_KEY = `${PKI_DIR}/proxy.key`;
const PROXY_SUBJECT = '/O=Shoestring etcd proxy';
/** Root's client certificate (every server): etcdctl and our scripts ask etcd with it. */
export const CLIENT_CERT = `${PKI_DIR}/client.crt`;
export const CLIENT_KEY = `${PKI_DIR}/client.key`;
const CLIENT_SUBJECT = '/O=Shoestring etcd client';
/** Where the copy in etcd lives (values: the PEM files, base64 on one line). */
export const ETCD_CA_CERT_KEY = '/shoestring/pki/etcd-ca.crt';
export const ETCD_CA_KEY_KEY = '/shoestring/pki/etcd-ca.key';
/** curl's and etcdctl's options (both take this form) for root's client certificate. */
export const CLIENT_TLS = `--cacert ${CA_CERT} --cert ${CLIENT_CERT} --key ${CLIENT_KEY}`;

export interface CaPair {
  readonly cert: string;
  readonly key: string;
}

/** Prints the CA this server holds on disk (its copy in etcd: CA_IN_ETCD_PROBE). Read-only. */
export const CA_PROBE_SCRIPT = [
  `${section('ca_crt')}`,
  `if [ -s ${CA_CERT} ] && [ -s ${CA_KEY} ]; then base64 -w0 ${CA_CERT}; echo; ${section('ca_key')}; base64 -w0 ${CA_KEY}; echo; fi`,
].join('\n');

/** Decodes a base64 section; undefined when empty or not PEM. */
export function pemFromBase64(text: string | undefined): string | undefined {
  const t = (text ?? '').trim();
  if (t === '') return undefined;
  const pem = Buffer.from(t, 'base64').toString('utf8');
  return pem.includes('-----BEGIN ') ? pem : undefined;
}

/** The value of a `/v3/kv/range` answer (our values are base64 of PEM, so decoded twice). */
export function pemFromRange(text: string | undefined): string | undefined {
  // No answer (a server without etcd yet): nothing to parse, and no exception to pay for.
  if (text === undefined || text.trim() === '') return undefined;
  try {
    const r = JSON.parse(text ?? '') as { kvs?: { value?: string }[] };
    const v = r.kvs?.[0]?.value;
    return v ? pemFromBase64(Buffer.from(v, 'base64').toString('utf8')) : undefined;
  } catch {
    return undefined;
  }
}

/** Picks the CA to use from every server's report: etcd's copy first, then disk copies. */
export function chooseCa(
  reports: readonly { disk?: CaPair | undefined; etcd?: CaPair | undefined }[],
): { ca: CaPair | undefined; conflict: boolean } {
  const fromEtcd = reports.find((r) => r.etcd)?.etcd;
  const fromDisk = reports.find((r) => r.disk)?.disk;
  const ca = fromEtcd ?? fromDisk;
  const conflict =
    ca !== undefined &&
    reports.some((r) => [r.disk, r.etcd].some((p) => p !== undefined && p.cert !== ca.cert));
  return { ca, conflict };
}

/** Generates a CA on a server (keeping it in PKI_DIR) and prints it like CA_PROBE_SCRIPT. */
export const CA_GENERATE_SCRIPT = [
  `command -v openssl >/dev/null || apt-get install -y -q openssl >/dev/null`,
  `if [ ! -s ${CA_CERT} ] || [ ! -s ${CA_KEY} ]; then`,
  // Root's only until etcd's configuration gives group etcd its way in (0750).
  `  install -d -m 0700 ${PKI_DIR}`,
  `  tmp=$(mktemp -d "\${SHOESTRING_TMP:-/tmp}/pki.XXXXXX")`,
  `  openssl req -x509 -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -days 3650 -subj '/CN=Shoestring etcd CA' -keyout "$tmp/ca.key" -out "$tmp/ca.crt" 2>/dev/null`,
  `  install -m 0600 "$tmp/ca.key" ${CA_KEY}`,
  `  install -m 0644 "$tmp/ca.crt" ${CA_CERT}`,
  `  rm -rf "$tmp"`,
  `fi`,
  `${section('ca_crt')}; base64 -w0 ${CA_CERT}; echo; ${section('ca_key')}; base64 -w0 ${CA_KEY}; echo`,
].join('\n');

/**
 * Check: `cert` and `key` exist, the certificate is signed by the CA and matches its key, and
 * `also` (a check on the certificate's contents) holds.
 */
function certValid(cert: string, key: string, also: string): string {
  return [
    `[ -s ${cert} ] && [ -s ${key} ]`,
    `openssl verify -CAfile ${CA_CERT} ${cert}`,
    also,
    `[ "$(openssl x509 -in ${cert} -noout -pubkey)" = "$(openssl pkey -in ${key} -pubout)" ]`,
  ].join(' && ');
}

/** The subject alternative names of a certificate for `ips` and `dns` (each once). */
function altNames(ips: readonly string[], dns: readonly string[] = []): string[] {
  return [...new Set([...ips.map((a) => `IP:${a}`), ...dns.map((d) => `DNS:${d}`)])];
}

/** An IP address as `openssl x509 -ext subjectAltName` prints it (IPv6: 8 groups, upper case). */
export function opensslIp(address: string): string {
  if (!address.includes(':')) return address;
  const [head = '', tail] = address.split('::');
  const groups = (s: string) => (s === '' ? [] : s.split(':'));
  const h = groups(head);
  const t = tail === undefined ? [] : groups(tail);
  const all = [...h, ...Array<string>(Math.max(0, 8 - h.length - t.length)).fill('0'), ...t];
  return all.map((g) => parseInt(g, 16).toString(16).toUpperCase()).join(':');
}

/** Check: the certificate names each of `names` (as altNames writes them) exactly. */
function namesAll(cert: string, names: readonly string[]): string {
  // openssl prints them on one line after a heading: "IP Address:10.0.0.1, DNS:s1".
  const printed = names.map((n) =>
    n.startsWith('IP:') ? `IP Address:${opensslIp(n.slice(3))}` : n,
  );
  const wanted = printed.map((n) => `-e ${q(n)}`).join(' ');
  return `[ "$(openssl x509 -in ${cert} -noout -ext subjectAltName | sed 1d | tr , '\\n' | sed 's/^ *//' | grep -cxF ${wanted})" = ${names.length} ]`;
}

/** The names a member's certificate must carry: its private address, loopback, its host name. */
function memberNames(name: string, address: string): string[] {
  return altNames([address, '127.0.0.1'], [name]);
}

/**
 * Check: the member's certificate is valid (see certValid) and names this member's private
 * address (peers and proxies reach it there), 127.0.0.1 (root's clients on this server) and
 * its host name.
 */
export function peerCertValid(name: string, address: string): string {
  return certValid(PEER_CERT, PEER_KEY, namesAll(PEER_CERT, memberNames(name, address)));
}

/**
 * Issues a key and a certificate from the CA into `cert`/`key`; the key is readable by `owner`
 * only (etcd for the certificates etcd presents, root for root's).
 */
function issue(subject: string, ext: string, cert: string, key: string, owner: string): string {
  return [
    `tmp=$(mktemp -d "\${SHOESTRING_TMP:-/tmp}/pki.XXXXXX")`,
    `printf %s ${q(ext)} > "$tmp/ext"`,
    `openssl req -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -subj ${q(subject)} -keyout "$tmp/x.key" -out "$tmp/x.csr" 2>/dev/null`,
    `openssl x509 -req -in "$tmp/x.csr" -CA ${CA_CERT} -CAkey ${CA_KEY} -set_serial "0x$(openssl rand -hex 16)" -days 3650 -extfile "$tmp/ext" -out "$tmp/x.crt" 2>/dev/null`,
    `install -m 0600 -o ${owner} -g ${owner} "$tmp/x.key" ${key}`,
    `install -m 0644 "$tmp/x.crt" ${cert}`,
    `rm -rf "$tmp"`,
  ].join('\n');
}

/** Extensions of a certificate used as a server (naming `names`) and as a client. */
function serverExt(names: readonly string[]): string {
  return `subjectAltName=${names.join(',')}\nextendedKeyUsage=serverAuth,clientAuth\nkeyUsage=critical,digitalSignature,keyEncipherment\nbasicConstraints=CA:FALSE\n`;
}

/**
 * Issues this member's certificate. It serves both ways: etcd peers authenticate each other
 * with it, and the member's client API (on 127.0.0.1 and the private address) presents it.
 */
export function issuePeerCert(name: string, address: string): string {
  return issue(`/CN=${name}`, serverExt(memberNames(name, address)), PEER_CERT, PEER_KEY, 'etcd');
}

const PROXY_NAMES = altNames(['127.0.0.1']);

/**
 * Check: the proxy's certificate is valid (see certValid), has no common name and names
 * 127.0.0.1 (its listener).
 */
export const PROXY_CERT_VALID = certValid(
  PROXY_CERT,
  PROXY_KEY,
  `! openssl x509 -in ${PROXY_CERT} -noout -subject | grep -q 'CN *=' && ${namesAll(PROXY_CERT, PROXY_NAMES)}`,
);

/** Issues the proxy's certificate (client of the voters, server on 127.0.0.1). */
export const ISSUE_PROXY_CERT = issue(
  PROXY_SUBJECT,
  serverExt(PROXY_NAMES),
  PROXY_CERT,
  PROXY_KEY,
  'etcd',
);

/** Check: root's client certificate is valid (see certValid) and made for clients. */
export const CLIENT_CERT_VALID = certValid(
  CLIENT_CERT,
  CLIENT_KEY,
  `openssl x509 -in ${CLIENT_CERT} -noout -ext extendedKeyUsage | grep -q 'TLS Web Client Authentication'`,
);

/** Issues root's client certificate (client use only; the key readable by root only). */
export const ISSUE_CLIENT_CERT = issue(
  CLIENT_SUBJECT,
  'extendedKeyUsage=clientAuth\nkeyUsage=critical,digitalSignature\nbasicConstraints=CA:FALSE\n',
  CLIENT_CERT,
  CLIENT_KEY,
  'root',
);
