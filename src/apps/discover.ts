/**
 * Apps: each folder under apps/ is one app. Its `host` file names it under DOMAIN (`app1` →
 * app1.DOMAIN; `@` → DOMAIN itself); `app.wsgi` or `app.py` defines a WSGI `application`;
 * optional `requirements.txt` is installed into the app's own virtualenv; optional `packages`
 * lists Debian packages it needs (one a line); an optional `database` file asks for a database
 * and user of its own (with DATABASE set; its settings reach the app as DATABASE_* variables). Reading the folder is the only effect here;
 * `describeApps` is pure.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { clip } from '../config/clip.ts';
import { ConfigError } from '../errors.ts';

export interface AppFile {
  /** Path inside the app folder, with forward slashes. */
  readonly path: string;
  readonly content: string;
}

export interface AppSource {
  readonly name: string;
  readonly files: readonly AppFile[];
}

export interface App {
  readonly name: string;
  /** The fastrouter key: the full host name it answers at. */
  readonly key: string;
  readonly entry: string;
  readonly port: number;
  readonly files: readonly AppFile[];
  readonly requirements: string | undefined;
  readonly packages: readonly string[];
  /** It asked for a database (a `database` file in its folder). */
  readonly database: boolean;
  /** sha256 over every file (path and content): changes reload the app. */
  readonly codeHash: string;
}

const NAME = /^[a-z0-9][a-z0-9-]{0,40}$/;
/** One DNS label: apps are served one level under DOMAIN (the certificate covers *.DOMAIN). */
const LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
/** A file or folder name inside an app (each segment of its path). */
const SAFE_NAME = /^[A-Za-z0-9._][A-Za-z0-9._-]*$/;
const SKIP = /(^|\/)(\.|__pycache__|.*\.pyc$)/;

/** Reads apps/<name>/ folders (text files, recursively, skipping dotfiles and caches). */
export function readApps(dir: string): AppSource[] {
  if (!existsSync(dir)) return [];
  const walk = (root: string, at: string): AppFile[] =>
    readdirSync(at, { withFileTypes: true }).flatMap((e) => {
      const full = join(at, e.name);
      const rel = relative(root, full).split('\\').join('/');
      if (SKIP.test(rel)) return [];
      if (e.isDirectory()) return walk(root, full);
      if (!e.isFile()) return [];
      return [{ path: rel, content: readFileSync(full, 'utf8') }];
    });
  return readdirSync(dir)
    .filter((n) => !n.startsWith('.') && statSync(join(dir, n)).isDirectory())
    .sort()
    .map((name) => ({ name, files: walk(join(dir, name), join(dir, name)) }));
}

function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (const ch of Buffer.from(text, 'utf8')) h = Math.imul(h ^ ch, 0x01000193) >>> 0;
  return h;
}

/**
 * A stable port per app name (so adding an app does not move the others): a hash of the name
 * into 3100–3899, the next free one on a clash, clashes settled in name order.
 */
export function assignPorts(names: readonly string[], from: number, span = 800): Map<string, number> {
  const ports = new Map<string, number>();
  const used = new Set<number>();
  if (names.length > span) throw new ConfigError(`more than ${span} apps: no free ports left`);
  for (const name of [...names].sort()) {
    let p = from + (fnv1a(name) % span);
    while (used.has(p)) p = p + 1 >= from + span ? from : p + 1;
    used.add(p);
    ports.set(name, p);
  }
  return ports;
}

/** The problem with a file's path inside an app (a name outside the safe set), if any. */
export function unsafePathProblem(label: string, path: string): string | undefined {
  const bad = path.split('/').find((segment) => !SAFE_NAME.test(segment));
  if (bad === undefined) return undefined;
  return `${clip(`${label}/${path}`)}: the name "${clip(bad)}" may use only letters, digits, '.', '_' and '-' (not first): rename it`;
}

/** The problem with the text of an app's `host` file, if any (`label` names the app's folder). */
export function hostProblem(label: string, host: string, domain: string): string | undefined {
  const example = label.split('/').at(-1) ?? 'app1';
  if (host === '') {
    return `${label}/host is empty: write the app's name under DOMAIN in it (e.g. ${example}), or @ for DOMAIN itself`;
  }
  if (host === '@') return undefined;
  const name = host.replace(/\.$/, '');
  if (name === domain) {
    return `${label}/host: "${clip(host)}" is DOMAIN itself: write just @`;
  }
  if (name.endsWith(`.${domain}`)) {
    const short = name.slice(0, -domain.length - 1);
    return `${label}/host: "${clip(host)}" would serve ${clip(`${name}.${domain}`)}: write just ${clip(short)} (the name under DOMAIN)`;
  }
  if (!LABEL.test(host)) {
    return `${label}/host: "${clip(host)}" is not a DNS label (letters, digits and -, at most 63, no dots): write one name such as ${example}, or @ for DOMAIN itself`;
  }
  return undefined;
}

/**
 * Validates the apps read by `readApps` and describes them. Every problem is reported at once
 * (a ConfigError). `dir` names the apps folder in errors (default `apps`).
 */
export function describeApps(
  sources: readonly AppSource[],
  domain: string,
  portsFrom: number,
  options: { dir?: string } = {},
): App[] {
  const dir = options.dir ?? 'apps';
  const problems: string[] = [];
  const ports = assignPorts(
    sources.map((s) => s.name),
    portsFrom,
  );
  const apps: App[] = [];
  const keys = new Map<string, string>();
  for (const s of sources) {
    const file = (p: string) => s.files.find((f) => f.path === p)?.content;
    const label = `${dir}/${clip(s.name)}`;
    if (!NAME.test(s.name)) {
      problems.push(
        `${label}: an app folder's name may use only lowercase letters, digits and - (not first, at most 41): rename the folder`,
      );
      continue;
    }
    const unsafe = s.files
      .map((f) => unsafePathProblem(label, f.path))
      .filter((p): p is string => p !== undefined);
    if (unsafe.length > 0) {
      problems.push(...unsafe);
      continue;
    }
    const hostText = file('host');
    if (hostText === undefined) {
      problems.push(`${label}/host is missing: it names the app under DOMAIN (e.g. ${s.name})`);
      continue;
    }
    const host = hostText.trim().toLowerCase();
    const bad = hostProblem(label, host, domain);
    if (bad !== undefined) {
      problems.push(bad);
      continue;
    }
    const entry = ['app.wsgi', 'app.py'].find((p) => file(p) !== undefined);
    if (!entry) {
      problems.push(`${label}: needs app.wsgi or app.py defining a WSGI \`application\``);
      continue;
    }
    const key = host === '@' ? domain : `${host}.${domain}`;
    const clash = keys.get(key);
    if (clash) {
      problems.push(
        `${label}/host: ${key} is already served by ${dir}/${clash} (its host file): give each app its own host`,
      );
      continue;
    }
    keys.set(key, s.name);
    const hash = createHash('sha256');
    for (const f of [...s.files].sort((a, b) => a.path.localeCompare(b.path)))
      hash.update(`${f.path}\0${f.content}\0`);
    const packages = (file('packages') ?? '')
      .split('\n')
      .map((l) => l.replace(/#.*/, '').trim())
      .filter(Boolean);
    const notPackages = packages.filter((p) => !/^[a-z0-9][a-z0-9+.-]+$/.test(p));
    if (notPackages.length > 0)
      problems.push(`${label}/packages: not package names: ${clip(notPackages.join(', '))}`);
    const req = file('requirements.txt');
    apps.push({
      name: s.name,
      key,
      entry,
      port: ports.get(s.name) ?? portsFrom,
      files: s.files,
      requirements: req !== undefined && req.trim() !== '' ? req : undefined,
      packages,
      database: file('database') !== undefined,
      codeHash: hash.digest('hex').slice(0, 16),
    });
  }
  if (problems.length > 0) {
    throw new ConfigError(`${dir}/ has ${problems.length} problem(s):`, problems, {
      hint: 'one folder per app: a host file with its name under DOMAIN, app.wsgi or app.py (see README, Configuration)',
    });
  }
  return apps;
}
