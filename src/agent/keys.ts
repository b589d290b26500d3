/** Where the agent keeps things: files on the servers and keys in etcd (one place for both). */
import { LIB_DIR } from '../paths.ts';

export const AGENT_CONFIG = '/etc/shoestring/agent.json';
export const AGENT_DIR = LIB_DIR;
export const AGENT_BUNDLE = `${AGENT_DIR}/agent.cjs`;
export const AGENT_SERVICE = 'shoestring-agent';

export const TLS_DIR = '/etc/shoestring/tls';
export const TLS_CERT = `${TLS_DIR}/fullchain.pem`;
export const TLS_KEY = `${TLS_DIR}/privkey.pem`;
/** nginx includes `nginx-*.conf` from TLS_DIR: present only once a certificate is installed. */
export const NGINX_TLS_SNIPPET = `${TLS_DIR}/nginx-listen.conf`;

/** Each server's place on the private network (written by provision's peers component). */
export const PEERS_PREFIX = '/shoestring/network/peers/';

export const KEYS = {
  holder: '/shoestring/agent/holder',
  dnsState: '/shoestring/dns/state',
  dnsChanges: '/shoestring/dns/changes',
  drainPrefix: '/shoestring/dns/drain/',
  account: '/shoestring/tls/account',
  certificate: '/shoestring/tls/certificate',
  renew: '/shoestring/tls/renew',
  tlsStatus: '/shoestring/tls/status',
  installedPrefix: '/shoestring/tls/installed/',
} as const;
