/**
 * Every server: install the cluster's certificate from etcd and reload the web front, only when
 * it changed. The key is written 0600 root (the apps' users cannot read it); the new files are
 * checked by the front's own validator before the reload, and put back if it refuses them.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { promisify } from 'node:util';
import type { WebServer } from '../config/env.ts';
import { keyMatches, type StoredCertificate } from './certificate.ts';
import type { EtcdGateway, KeyValue } from './etcd-gateway.ts';
import { KEYS, NGINX_TLS_SNIPPET, PEERS_PREFIX, TLS_CERT, TLS_DIR, TLS_KEY } from './keys.ts';
import { parseCertificate } from './cert-duty.ts';

const run = promisify(execFile);

/** nginx: the `listen 443` half of the site, included only once a certificate is installed. */
export function nginxSnippet(): string {
  return [
    '# Managed by the Shoestring agent: present once the cluster certificate is installed.',
    'listen 443 ssl;',
    'listen [::]:443 ssl;',
    `ssl_certificate ${TLS_CERT};`,
    `ssl_certificate_key ${TLS_KEY};`,
    'ssl_protocols TLSv1.2 TLSv1.3;',
    '',
  ].join('\n');
}

function readOr(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

function writeAtomic(path: string, text: string, mode: number): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, text, { mode });
  renameSync(tmp, path);
}

export class CertInstaller {
  #revision = -1;
  /** This server's "installed" record was written (so a missing one was removed since). */
  #reported = false;

  constructor(
    private readonly etcd: EtcdGateway,
    private readonly host: string,
    private readonly web: WebServer,
    private readonly domain: string,
    private readonly log: (line: string) => void,
  ) {}

  /** Is a certificate installed here? */
  static installed(): boolean {
    return existsSync(TLS_CERT) && existsSync(TLS_KEY);
  }

  async round(): Promise<void> {
    const kv = await this.etcd.get(KEYS.certificate);
    if (!kv) return;
    if (kv.modRevision !== this.#revision) await this.#fromEtcd(kv);
    else if (this.#reported && (await this.#backInTheCluster())) {
      this.log('this server\'s "certificate installed" record is gone: reported again');
      await this.#fromEtcd(kv);
    }
    await this.#ensureNginxListens();
  }

  /**
   * Our record goes when this server leaves the servers file (the first server prunes it with
   * its peers record). Once provision has recorded it again (its peers record), it is back: say
   * again what is installed here. A server that left but still reaches etcd (a proxy's agent)
   * stays forgotten.
   */
  async #backInTheCluster(): Promise<boolean> {
    if (await this.etcd.get(this.#installedKey)) return false;
    return (await this.etcd.get(`${PEERS_PREFIX}${this.host}`)) !== undefined;
  }

  get #installedKey(): string {
    return `${KEYS.installedPrefix}${this.host}`;
  }

  /**
   * nginx listens on 443 through our snippet: present whenever a certificate is installed (also
   * after WEB_SERVER changed to nginx, when the certificate itself did not change).
   */
  async #ensureNginxListens(): Promise<void> {
    if (this.web !== 'nginx' || !CertInstaller.installed()) return;
    if (readOr(NGINX_TLS_SNIPPET) === nginxSnippet()) return;
    writeAtomic(NGINX_TLS_SNIPPET, nginxSnippet(), 0o644);
    try {
      await run('nginx', ['-t', '-q']);
    } catch (e) {
      rmSync(NGINX_TLS_SNIPPET, { force: true });
      throw new Error(`nginx refused the TLS listener (${(e as Error).message.split('\n')[0]})`);
    }
    await run('systemctl', ['reload', 'nginx']);
    this.log('nginx now listens on 443 with the cluster certificate');
  }

  async #fromEtcd(kv: KeyValue): Promise<void> {
    const stored = parseCertificate(kv.value);
    if (!stored) return;
    if (readOr(TLS_CERT) === stored.cert && readOr(TLS_KEY) === stored.key) {
      this.#revision = kv.modRevision;
      await this.#report(stored);
      return;
    }
    if (!keyMatches(stored.cert, stored.key)) {
      this.log(`certificate ${stored.serial} in etcd does not match its key: not installed`);
      this.#revision = kv.modRevision;
      return;
    }
    if (!stored.domains.includes(`*.${this.domain}`)) {
      this.log(`certificate ${stored.serial} does not cover *.${this.domain}: not installed`);
      this.#revision = kv.modRevision;
      return;
    }
    await this.#install(stored);
    this.#revision = kv.modRevision;
    await this.#report(stored);
  }

  async #install(stored: StoredCertificate): Promise<void> {
    mkdirSync(TLS_DIR, { recursive: true, mode: 0o755 });
    const before = {
      cert: readOr(TLS_CERT),
      key: readOr(TLS_KEY),
      snippet: readOr(NGINX_TLS_SNIPPET),
    };
    writeAtomic(TLS_KEY, stored.key, 0o600);
    writeAtomic(TLS_CERT, stored.cert, 0o644);
    if (this.web === 'nginx') writeAtomic(NGINX_TLS_SNIPPET, nginxSnippet(), 0o644);
    const service = this.web === 'apache' ? 'apache2' : 'nginx';
    try {
      if (this.web === 'apache') await run('apache2ctl', ['-t']);
      else await run('nginx', ['-t', '-q']);
    } catch (e) {
      for (const [path, text, mode] of [
        [TLS_KEY, before.key, 0o600],
        [TLS_CERT, before.cert, 0o644],
        [NGINX_TLS_SNIPPET, before.snippet, 0o644],
      ] as const) {
        if (text === undefined) rmSync(path, { force: true });
        else writeAtomic(path, text, mode);
      }
      throw new Error(
        `${service} refused the certificate (${(e as Error).message.split('\n')[0]}): put back`,
      );
    }
    await run('systemctl', ['reload', service]);
    this.log(
      `certificate ${stored.serial} installed (valid until ${stored.notAfter}); ${service} reloaded`,
    );
  }

  async #report(stored: StoredCertificate): Promise<void> {
    await this.etcd.put(
      this.#installedKey,
      JSON.stringify({
        serial: stored.serial,
        notAfter: stored.notAfter,
        at: new Date().toISOString(),
      }),
    );
    this.#reported = true;
  }
}
