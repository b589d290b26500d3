/**
 * The etcd cluster CA: generated once with openssl on the first server, then kept in the
 * cluster (every server holds it under /etc/shoestring/etcd-pki, and etcd holds a copy once it
 * runs). Provision reads it back from there on later runs and never makes a new one while any
 * copy exists. Each server issues its own peer certificate from it (see etcd component).
 */
import { section } from '../plan/sections.ts';
import { q } from '../ssh/quote.ts';

export const PKI_DIR = '/etc/shoestring/etcd-pki';
export const CA_CERT = `${PKI_DIR}/ca.crt`;
export const CA_KEY = `${PKI_DIR}/ca.key`;
export const PEER_CERT = `${PKI_DIR}/peer.crt`;
export const PEER_KEY = `${PKI_DIR}/peer.key`;
/** A proxy's client certificate (no common name: etcd's gRPC proxy refuses one that has it). */
export const PROXY_CERT = `${PKI_DIR}/proxy.crt`;
export const PROXY_KEY = `${PKI_DIR}/proxy.key`;
const PROXY_SUBJECT = '/O=Shoestring etcd proxy';
/** Where the copy in etcd lives (values: the PEM files, base64 on one line). */
export const ETCD_CA_CERT_KEY = '/shoestring/pki/etcd-ca.crt';
export const ETCD_CA_KEY_KEY = '/shoestring/pki/etcd-ca.key';

export interface CaPair {
  readonly cert: string;
  readonly key: string;
}

function b64(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64');
}

function rangeScript(key: string): string {
  const body = JSON.stringify({ key: b64(key) });
  return `curl -fsS -m 3 -X POST -d ${q(body)} http://127.0.0.1:2379/v3/kv/range 2>/dev/null || true`;
}

/** Prints the CA this server holds on disk and in its etcd (if running). Read-only. */
export const CA_PROBE_SCRIPT = [
  `${section('ca_crt')}`,
  `if [ -s ${CA_CERT} ] && [ -s ${CA_KEY} ]; then base64 -w0 ${CA_CERT}; echo; ${section('ca_key')}; base64 -w0 ${CA_KEY}; echo; fi`,
  `${section('etcd_ca_crt')}`,
  rangeScript(ETCD_CA_CERT_KEY),
  `echo`,
  `${section('etcd_ca_key')}`,
  rangeScript(ETCD_CA_KEY_KEY),
  `echo`,
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
  `  install -d -m 0755 ${PKI_DIR}`,
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

/** Check: the peer certificate is valid (see certValid) and names the address. */
export function peerCertValid(address: string): string {
  return certValid(
    PEER_CERT,
    PEER_KEY,
    `openssl x509 -in ${PEER_CERT} -noout -ext subjectAltName | grep -qw ${q(`IP Address:${address}`)}`,
  );
}

/** Issues a key and a certificate from the CA into `cert`/`key` (the key readable by etcd only). */
function issue(subject: string, ext: string, cert: string, key: string): string {
  return [
    `tmp=$(mktemp -d "\${SHOESTRING_TMP:-/tmp}/pki.XXXXXX")`,
    `printf %s ${q(ext)} > "$tmp/ext"`,
    `openssl req -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -subj ${q(subject)} -keyout "$tmp/x.key" -out "$tmp/x.csr" 2>/dev/null`,
    `openssl x509 -req -in "$tmp/x.csr" -CA ${CA_CERT} -CAkey ${CA_KEY} -set_serial "0x$(openssl rand -hex 16)" -days 3650 -extfile "$tmp/ext" -out "$tmp/x.crt" 2>/dev/null`,
    `install -m 0600 -o etcd -g etcd "$tmp/x.key" ${key}`,
    `install -m 0644 "$tmp/x.crt" ${cert}`,
    `rm -rf "$tmp"`,
  ].join('\n');
}

/**
 * Issues this server's peer certificate. It serves both ways: etcd peers authenticate each
 * other, and a member's client listener on its private address (for proxies) presents it.
 */
export function issuePeerCert(name: string, address: string): string {
  const ext = `subjectAltName=IP:${address},DNS:${name}\nextendedKeyUsage=serverAuth,clientAuth\nkeyUsage=critical,digitalSignature,keyEncipherment\nbasicConstraints=CA:FALSE\n`;
  return issue(`/CN=${name}`, ext, PEER_CERT, PEER_KEY);
}

/** Check: the proxy's client certificate is valid (see certValid) and has no common name. */
export const PROXY_CERT_VALID = certValid(
  PROXY_CERT,
  PROXY_KEY,
  `! openssl x509 -in ${PROXY_CERT} -noout -subject | grep -q 'CN *='`,
);

/** Issues the proxy's client certificate (client use only). */
export const ISSUE_PROXY_CERT = issue(
  PROXY_SUBJECT,
  'extendedKeyUsage=clientAuth\nkeyUsage=critical,digitalSignature\nbasicConstraints=CA:FALSE\n',
  PROXY_CERT,
  PROXY_KEY,
);

/** Check + command keeping the CA copy in etcd equal to the files. */
export const CA_IN_ETCD_CHECK = [ETCD_CA_CERT_KEY, ETCD_CA_KEY_KEY]
  .map(
    (k, i) =>
      `[ "$(ETCDCTL_API=3 etcdctl --dial-timeout=1s --command-timeout=3s get --print-value-only ${k})" = "$(base64 -w0 ${i === 0 ? CA_CERT : CA_KEY})" ]`,
  )
  .join(' && ');

export const CA_IN_ETCD_PUT = [
  `base64 -w0 ${CA_CERT} | ETCDCTL_API=3 etcdctl --dial-timeout=2s --command-timeout=5s put ${ETCD_CA_CERT_KEY} >/dev/null`,
  `base64 -w0 ${CA_KEY} | ETCDCTL_API=3 etcdctl --dial-timeout=2s --command-timeout=5s put ${ETCD_CA_KEY_KEY} >/dev/null`,
].join('\n');
