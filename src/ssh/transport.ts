/**
 * The one way Shoestring touches a server: the system OpenSSH client, one multiplexed
 * connection per host (ControlMaster/ControlPersist), scripts sent to `bash -s` on stdin
 * (so nothing secret is ever in argv), bounded retries on connection failures only.
 * ~/.ssh/config, ssh-agent and jump hosts work as they do for plain ssh.
 */
import { createHash } from 'node:crypto';
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { tmpdir } from 'node:os';
import { CommandError, ConnectError, tail } from '../errors.ts';
import { q } from './quote.ts';
import { redact } from '../redact.ts';
import { backoffMs, classifySshFailure, failedBeforeSession, isRetryable } from './classify.ts';
import type { Target } from './target.ts';

export type { Target } from './target.ts';

export interface TransportOptions {
  readonly user?: string | undefined;
  readonly key?: string | undefined;
  readonly knownHosts: string;
  /** Seconds to wait for the TCP connection. */
  readonly connectTimeout?: number;
  /** How many times a connection failure is retried. */
  readonly retries?: number;
  /** Called once per host before the first connection (the lab checks its bridge here). */
  readonly beforeConnect?: (host: string) => Promise<void>;
}

export interface RunOptions {
  /** Shown in errors, e.g. "Install etcd". */
  readonly what: string;
  /** Data for the script's stdin after the script itself is not supported: embed it in the script. */
  readonly timeoutMs?: number;
  /** Resolve with the result instead of throwing when the script exits non-zero. */
  readonly allowFailure?: boolean;
  /**
   * The script changes things: send it again only when the connection failed before any session
   * started. (A cut session may have left the first copy running.)
   */
  readonly once?: boolean;
  /**
   * A new connection of its own, not the shared one (which an established-connection rule keeps
   * alive): proves that a new SSH login works. Connect timeout in seconds; no retries.
   */
  readonly fresh?: { readonly connectTimeout: number };
}

export interface RunResult {
  readonly stdout: string;
  readonly stderr: string;
  readonly code: number | null;
}

const DEFAULT_TIMEOUT_MS = 20 * 60 * 1000;

export class Transport {
  readonly #options: TransportOptions;
  readonly #controlDir: string;
  readonly #identity: string;
  readonly #checked = new Map<string, Promise<void>>();

  constructor(options: TransportOptions) {
    this.#options = options;
    // Socket paths are limited to ~100 bytes: keep the directory short; %C is a hash.
    this.#controlDir = `${tmpdir()}/shoestring-ssh-${process.getuid?.() ?? 0}`;
    this.#identity = createHash('sha256')
      .update(`${options.key ?? ''}\n${options.knownHosts}`)
      .digest('hex')
      .slice(0, 8);
  }

  /** The ssh argv for a target (no command). Pure apart from reading options. */
  sshArgs(target: Target, fresh?: { readonly connectTimeout: number }): string[] {
    const o = this.#options;
    const args = [
      '-o',
      'BatchMode=yes',
      '-o',
      `ConnectTimeout=${fresh?.connectTimeout ?? o.connectTimeout ?? 10}`,
      '-o',
      'ServerAliveInterval=5',
      '-o',
      'ServerAliveCountMax=3',
      '-o',
      'StrictHostKeyChecking=accept-new',
      '-o',
      `UserKnownHostsFile=${o.knownHosts}`,
      ...(fresh
        ? ['-o', 'ControlMaster=no', '-o', 'ControlPath=none']
        : [
            '-o',
            'ControlMaster=auto',
            '-o',
            // One master per host *and* key and known-hosts file: a changed SSH_KEY or
            // SSH_KNOWN_HOSTS must be checked by a new connection, not ride an old master.
            `ControlPath=${this.#controlDir}/${this.#identity}-%C`,
            '-o',
            'ControlPersist=120',
          ]),
      '-o',
      'LogLevel=ERROR',
    ];
    if (o.key) args.push('-i', o.key, '-o', 'IdentitiesOnly=yes');
    const user = target.user ?? o.user;
    if (user) args.push('-l', user);
    if (target.port) args.push('-p', String(target.port));
    args.push(target.host);
    return args;
  }

  /**
   * ssh arguments that run `command` (one shell command line, quoted by the caller) as root on
   * the target over the shared connection, for streaming data through stdin/stdout (binary
   * safe; the caller spawns ssh). The lab's bridge check runs first, as for `run`.
   */
  async streamArgs(target: Target, command: string): Promise<string[]> {
    await this.#ready(target);
    const remote = this.#needsSudo(target) ? `sudo -n bash -c ${q(command)}` : command;
    return [...this.sshArgs(target), remote];
  }

  /**
   * Before a connection: the host's `beforeConnect` check (once per host, shared by every
   * caller), and the control and known_hosts directories.
   */
  async #ready(target: Target): Promise<void> {
    const guard = this.#options.beforeConnect;
    if (guard) {
      let check = this.#checked.get(target.host);
      if (!check) {
        check = guard(target.host);
        this.#checked.set(target.host, check);
      }
      await check;
    }
    mkdirSync(this.#controlDir, { recursive: true, mode: 0o700 });
    mkdirSync(dirname(this.#options.knownHosts), { recursive: true, mode: 0o700 });
  }

  /** Whether commands must be wrapped in sudo (a non-root login). */
  #needsSudo(target: Target): boolean {
    const user = target.user ?? this.#options.user;
    return user !== undefined && user !== 'root';
  }

  /**
   * Runs a bash script on the target as root. The script travels on stdin; the shell runs with
   * `set -euo pipefail`. Connection failures are retried with backoff; a failing script is not.
   */
  async run(target: Target, script: string, options: RunOptions): Promise<RunResult> {
    await this.#ready(target);
    const remote = this.#needsSudo(target) ? 'sudo -n bash -s' : 'bash -s';
    const body = `set -euo pipefail\nexport LC_ALL=C DEBIAN_FRONTEND=noninteractive\n${script}\n`;
    const retries = options.fresh ? 0 : (this.#options.retries ?? 3);
    for (let attempt = 0; ; attempt++) {
      const result = await spawnSsh(
        [...this.sshArgs(target, options.fresh), remote],
        body,
        options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      );
      if (result.code === 0) return result;
      const failure = classifySshFailure(result.code, result.stderr);
      if (failure) {
        const resend = !options.once || failedBeforeSession(result.stderr);
        if (isRetryable(failure) && attempt < retries && resend) {
          await sleep(backoffMs(attempt + 1));
          continue;
        }
        throw new ConnectError(
          target.name,
          failure,
          redact(tail(result.stderr, 1)),
          this.#options.knownHosts,
        );
      }
      if (options.allowFailure) return result;
      throw new CommandError(
        target.name,
        options.what,
        result.code,
        redact(tail(result.stderr || result.stdout)),
      );
    }
  }

  /** Closes the multiplexed connection of a target, if one is open. */
  async close(target: Target): Promise<void> {
    await spawnSsh(['-O', 'exit', ...this.sshArgs(target)], '', 5000).catch(() => undefined);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function spawnSsh(args: string[], stdin: string, timeoutMs: number): Promise<RunResult> {
  return new Promise((resolvePromise, reject) => {
    // stdio: the master connection started by ControlMaster=auto keeps stderr open; ssh's
    // ControlPersist forks it into the background, so only wait for 'exit' + our pipes' end.
    // Its own process group: a Ctrl-C at the terminal reaches Shoestring, which lets the running
    // phase end, instead of cutting every script mid-way.
    const child = spawn('ssh', args, { stdio: ['pipe', 'pipe', 'pipe'], detached: true });
    const out: Buffer[] = [];
    const errOut: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => errOut.push(d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    // A master started by ControlMaster=auto forks into the background holding our stderr pipe
    // open: wait for the exit, then for stdout's end, and only briefly for stderr's.
    // (The timer is cleared at the end: a pending one would keep the process alive after its
    // work is done, which made short commands exit up to 5 s late.)
    const ended = (stream: NodeJS.ReadableStream, ms: number) =>
      new Promise<void>((r) => {
        if ((stream as unknown as { readableEnded: boolean }).readableEnded) return r();
        const t = setTimeout(r, ms);
        stream.once('end', () => {
          clearTimeout(t);
          r();
        });
      });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      void Promise.all([ended(child.stdout, 5000), ended(child.stderr, 200)]).then(() => {
        const stderr = Buffer.concat(errOut).toString('utf8');
        resolvePromise({
          stdout: Buffer.concat(out).toString('utf8'),
          stderr:
            signal === 'SIGKILL'
              ? `${stderr}\ncommand timed out after ${timeoutMs / 1000} s`
              : stderr,
          code,
        });
      });
    });
    child.stdin.on('error', () => undefined); // the remote end may close early; the exit code tells
    child.stdin.end(stdin);
  });
}

export { pMap } from '../util/pmap.ts';
