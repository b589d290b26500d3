/** Where the lab keeps things, and the names it gives to what it creates on the host. */
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** Everything `down` removes lives here (state, keys, logs, overlay roots, daemon configs). */
export const labDir = process.env['SHOESTRING_LAB_DIR'] ?? join(repoRoot, '.lab');

/** Kept across `down`: the built image and the apt cache. */
export const cacheDir = '/var/cache/shoestring-lab';

/** Prefix of every host object the lab creates: the bridge, network namespaces, veths. */
export const PREFIX = 'sslab';
export const BRIDGE = `${PREFIX}0`;

export const DEFAULT_SUBNET = '172.30.0.0/24';
export const DEFAULT_DOMAIN = 'shoestring.test';

export const paths = {
  state: join(labDir, 'state.json'),
  env: join(labDir, '.env'),
  serversTxt: join(labDir, 'servers.txt'),
  key: join(labDir, 'id_ed25519'),
  knownHosts: join(labDir, 'known_hosts'),
  run: join(labDir, 'run'),
  logs: join(labDir, 'log'),
  servers: join(labDir, 'servers'),
  pdns: join(labDir, 'pdns'),
  pebble: join(labDir, 'pebble'),
  aptProxy: join(labDir, 'apt-cacher-ng'),
  images: join(cacheDir, 'images'),
  aptCache: join(cacheDir, 'apt-cacher-ng'),
} as const;

/** The lab ACME CA's root (new at every pebble start), for curl --cacert: scripts/lab.ts acme-root. */
export const ACME_ROOT_FILE = join(labDir, 'acme-root.pem');

export function serverDir(name: string): string {
  return join(paths.servers, name);
}

/** The merged (overlay) root of a server. */
export function serverRoot(name: string): string {
  return join(serverDir(name), 'root');
}

/** Network namespace and host-side veth of a server share one name (at most 15 characters). */
export function netnsName(server: string): string {
  return `${PREFIX}-${server}`;
}

export function pidFile(what: string): string {
  return join(paths.run, `${what}.pid`);
}

export function logFile(what: string): string {
  return join(paths.logs, `${what}.log`);
}
