/**
 * The operator lock's remote scripts (pure builders) and the parser of what they print.
 *
 * On the server that holds it, the lock is (a) a file whose one line is the holder record and
 * whose mtime its holder refreshes, and (b) when etcd answers on that server, the key
 * /shoestring/operator-lock under a lease of the same TTL, put only if absent (`etcdctl txn`).
 * Each script runs under `flock` on a guard file beside the lock file, so check-and-set is
 * atomic on the server. Every script prints marker lines `@@shoestring:lock-<section>` each
 * followed by its lines.
 */
import { CLIENT_TLS } from '../etcd/pki.ts';
import { ETCD_CLIENT } from '../etcd/remote.ts';
import { q } from '../ssh/quote.ts';
import { DEFAULT_TTL_SECONDS, formatRecord, parseRecord, type HolderRecord } from './record.ts';

export const DEFAULT_LOCK_DIR = '/var/lib/shoestring';
export const LOCK_FILE_NAME = 'operator.lock';
export const LOCK_KEY = '/shoestring/operator-lock';
export { DEFAULT_TTL_SECONDS };
const MARKER = '@@shoestring:lock-';

export interface LockScriptOptions {
  /** The lock file's directory (default /var/lib/shoestring); tests point it at a temp dir. */
  readonly dir?: string;
  /** The etcdctl command (default etcdctl); when it is not installed, only the file lock is used. */
  readonly etcdctl?: string;
  /** The local etcd client URL (default https://127.0.0.1:2379; asked with root's certificate). */
  readonly endpoint?: string;
}

/** Shared opening: variables, the etcdctl helper, the guard lock. */
function prelude(o: LockScriptOptions): string {
  const dir = o.dir ?? DEFAULT_LOCK_DIR;
  const etcdctl = o.etcdctl ?? 'etcdctl';
  return [
    `dir=${q(dir)}`,
    `file="$dir"/${LOCK_FILE_NAME}`,
    `key=${q(LOCK_KEY)}`,
    `ectl() { ETCDCTL_API=3 timeout 10 ${q(etcdctl)} --endpoints=${q(o.endpoint ?? ETCD_CLIENT)} ${CLIENT_TLS} --dial-timeout=2s --command-timeout=3s "$@"; }`,
    `has_etcdctl() { command -v ${q(etcdctl)} >/dev/null 2>&1; }`,
    `mkdir -p "$dir"`,
    // One check-and-set at a time on this server.
    `exec 9>"$file.guard"`,
    `flock -w 20 9`,
  ].join('\n');
}

/** The line that says a record is ours: formatRecord writes the token exactly like this. */
function tokenNeedle(token: string): string {
  return `"token":"${token}"`;
}

/**
 * Takes the lock for `record`, or prints who holds it. With breakLock, a live lock is removed
 * first (and listed as replaced, "broken"). Prints `result` (taken | held), then for taken
 * `lease` (the etcd lease in hex, empty without etcd) and `replaced` (locks it removed), for
 * held `holder`. Those lines read `<file|etcd> <live|expired|broken> <age seconds|-> <record>`.
 */
export function acquireScript(
  record: HolderRecord,
  options: { ttlSeconds: number; breakLock: boolean } & LockScriptOptions,
): string {
  const line = formatRecord(record);
  return [
    prelude(options),
    `ttl=${q(options.ttlSeconds)}`,
    `break_lock=${options.breakLock ? 1 : 0}`,
    `record=${q(line)}`,
    // etcdctl txn reads a put's value as a Go string literal, which JSON's string syntax is.
    `etcd_value=${q(JSON.stringify(line))}`,
    `replaced=()`,
    `held() { printf '${MARKER}result\\nheld\\n${MARKER}holder\\n%s\\n' "$1"; exit 0; }`,
    // (a) the file: a live record refuses (unless broken); an expired one is taken over. Live
    // for the holder's TTL (in its record; records without one had the default).
    `if [ -s "$file" ]; then`,
    `  age=$(( $(date +%s) - $(stat -c %Y "$file") ))`,
    `  prev=$(head -n 1 "$file")`,
    `  prev_ttl=$(printf '%s\\n' "$prev" | sed -n 's/.*"ttl":\\([0-9][0-9]*\\)[,}].*/\\1/p')`,
    `  if [ "$age" -lt "\${prev_ttl:-${DEFAULT_TTL_SECONDS}}" ]; then`,
    `    [ "$break_lock" = 1 ] || held "file live $age $prev"`,
    `    replaced+=("file broken $age $prev")`,
    `  else`,
    `    replaced+=("file expired $age $prev")`,
    `  fi`,
    `fi`,
    // (b) etcd, when it answers here: put the key only if absent, under a lease of the same TTL.
    `lease=`,
    `if has_etcdctl && ectl endpoint health >/dev/null 2>&1; then`,
    `  if [ "$break_lock" = 1 ]; then`,
    `    old=$(ectl get --print-value-only "$key")`,
    `    if [ -n "$old" ]; then ectl del "$key" >/dev/null; replaced+=("etcd broken - $old"); fi`,
    `  fi`,
    `  lease=$(ectl lease grant "$ttl" | awk '$1 == "lease" { print $2 }')`,
    `  [ -n "$lease" ] || { echo 'etcd granted no lease' >&2; exit 1; }`,
    `  undo() { ectl lease revoke "$lease" >/dev/null 2>&1 || true; }`,
    `  if ! answer=$(printf '%s\\n' "create(\\"$key\\") = \\"0\\"" '' "put --lease=$lease $key $etcd_value" '' "get $key" '' | ectl txn); then`,
    `    undo; echo 'etcdctl txn failed' >&2; exit 1`,
    `  fi`,
    // FAILURE, a blank line, the key, its value.
    `  if [ "$(printf '%s\\n' "$answer" | head -n 1)" != SUCCESS ]; then`,
    `    undo; held "etcd live - $(printf '%s\\n' "$answer" | sed -n 4p)"`,
    `  fi`,
    `fi`,
    `if ! { printf '%s\\n' "$record" >"$file.new" && mv -f "$file.new" "$file"; }; then`,
    `  [ -z "$lease" ] || undo; echo 'could not write the lock file' >&2; exit 1`,
    `fi`,
    `printf '${MARKER}result\\ntaken\\n${MARKER}lease\\n%s\\n${MARKER}replaced\\n' "$lease"`,
    `for r in "\${replaced[@]}"; do printf '%s\\n' "$r"; done`,
  ].join('\n');
}

/** Check: the lock file still holds our record (our token). */
function fileIsOurs(token: string): string {
  return `[ -s "$file" ] && grep -qF -- ${q(tokenNeedle(token))} "$file"`;
}

/**
 * Keeps our lock alive: touches the file if it still holds our token, keeps the lease alive.
 * Prints `result` with the lines `file ok|lost` and `etcd ok|lost|failed|none`.
 */
export function refreshScript(
  token: string,
  leaseId: string | undefined,
  options: LockScriptOptions = {},
): string {
  return [
    prelude(options),
    `if ${fileIsOurs(token)}; then touch "$file"; f=ok; else f=lost; fi`,
    `lease=${q(leaseId ?? '')}`,
    `e=none`,
    `if [ -n "$lease" ]; then`,
    `  if err=$(ectl lease keep-alive --once "$lease" 2>&1 >/dev/null); then e=ok`,
    `  elif printf '%s' "$err" | grep -q -e 'not found' -e 'expired or revoked'; then e=lost`,
    `  else e=failed; fi`,
    `fi`,
    `printf '${MARKER}result\\nfile %s\\netcd %s\\n' "$f" "$e"`,
  ].join('\n');
}

/**
 * Gives our lock up: removes the file only if it still holds our token, revokes the lease (which
 * deletes the key). Prints `result` with `file released|not-ours` and
 * `etcd released|gone|failed|none`.
 */
export function releaseScript(
  token: string,
  leaseId: string | undefined,
  options: LockScriptOptions = {},
): string {
  return [
    prelude(options),
    `if ${fileIsOurs(token)}; then rm -f "$file"; f=released; else f=not-ours; fi`,
    `lease=${q(leaseId ?? '')}`,
    `e=none`,
    // Retried: right after a membership change (destroy removes a member) etcd may be electing
    // a leader and refuse for a moment; a lease left behind would lock the next run out.
    `if [ -n "$lease" ]; then`,
    `  end=$((SECONDS + 12))`,
    `  while :; do`,
    `    if err=$(ectl lease revoke "$lease" 2>&1 >/dev/null); then e=released; break`,
    `    elif printf '%s' "$err" | grep -q 'not found'; then e=gone; break`,
    `    else e=failed; [ "$SECONDS" -lt "$end" ] || break; sleep 0.5; fi`,
    `  done`,
    `fi`,
    `printf '${MARKER}result\\nfile %s\\netcd %s\\n' "$f" "$e"`,
  ].join('\n');
}

// ---- parsing ----

/** A lock found on the server: the holder that refused us, or one we replaced. */
export interface LockEntry {
  readonly source: 'file' | 'etcd';
  readonly state: 'live' | 'expired' | 'broken';
  /** Seconds since its holder last refreshed the file; undefined for etcd. */
  readonly ageSeconds: number | undefined;
  /** undefined when the stored text is not a well-formed record (see raw). */
  readonly record: HolderRecord | undefined;
  readonly raw: string;
}

export type AcquireOutcome =
  | {
      readonly result: 'taken';
      /** The etcd lease (hex) when etcd answered on the server, else undefined. */
      readonly leaseId: string | undefined;
      readonly replaced: readonly LockEntry[];
    }
  | { readonly result: 'held'; readonly holder: LockEntry };

export interface RefreshOutcome {
  readonly file: 'ok' | 'lost';
  readonly etcd: 'ok' | 'lost' | 'failed' | 'none';
}

export interface ReleaseOutcome {
  readonly file: 'released' | 'not-ours';
  readonly etcd: 'released' | 'gone' | 'failed' | 'none';
}

/** Splits the marked output into sections of non-empty lines. */
export function lockSections(output: string): Map<string, string[]> {
  const sections = new Map<string, string[]>();
  let current: string[] | undefined;
  for (const line of output.split('\n')) {
    if (line.startsWith(MARKER)) {
      current = [];
      sections.set(line.slice(MARKER.length).trim(), current);
    } else if (current && line.trim() !== '') current.push(line.trim());
  }
  return sections;
}

function parseEntry(line: string): LockEntry | undefined {
  const m = /^(file|etcd) (live|expired|broken) (\d+|-) ?(.*)$/.exec(line);
  if (!m) return undefined;
  const raw = m[4] ?? '';
  return {
    source: m[1] as LockEntry['source'],
    state: m[2] as LockEntry['state'],
    ageSeconds: m[3] === '-' ? undefined : Number(m[3]),
    record: parseRecord(raw),
    raw,
  };
}

/** What acquireScript printed; undefined when the output is not understood. */
export function parseAcquireOutput(output: string): AcquireOutcome | undefined {
  const s = lockSections(output);
  const result = s.get('result')?.[0];
  if (result === 'held') {
    const holder = parseEntry(s.get('holder')?.[0] ?? '');
    return holder ? { result, holder } : undefined;
  }
  if (result !== 'taken') return undefined;
  const lease = s.get('lease')?.[0];
  if (lease !== undefined && !/^[0-9a-f]+$/.test(lease)) return undefined;
  const replaced: LockEntry[] = [];
  for (const line of s.get('replaced') ?? []) {
    const entry = parseEntry(line);
    if (!entry) return undefined;
    replaced.push(entry);
  }
  return { result, leaseId: lease, replaced };
}

function parseParts<F extends string, E extends string>(
  output: string,
  files: readonly F[],
  etcds: readonly E[],
): { file: F; etcd: E } | undefined {
  const lines = lockSections(output).get('result') ?? [];
  const word = (name: string) =>
    lines.find((l) => l.startsWith(`${name} `))?.slice(name.length + 1);
  const file = files.find((f) => f === word('file'));
  const etcd = etcds.find((e) => e === word('etcd'));
  return file !== undefined && etcd !== undefined ? { file, etcd } : undefined;
}

/** What refreshScript printed; undefined when the output is not understood. */
export function parseRefreshOutput(output: string): RefreshOutcome | undefined {
  return parseParts(output, ['ok', 'lost'], ['ok', 'lost', 'failed', 'none']);
}

/** What releaseScript printed; undefined when the output is not understood. */
export function parseReleaseOutput(output: string): ReleaseOutcome | undefined {
  return parseParts(output, ['released', 'not-ours'], ['released', 'gone', 'failed', 'none']);
}
