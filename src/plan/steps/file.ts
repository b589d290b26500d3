/**
 * A file with exact content, owner and mode. Idempotence: rewritten only when its sha256 differs;
 * owner/mode fixed in place. Written atomically (temp file beside it, then rename); a file with a
 * validator is checked in place and the previous file put back when the check fails, so a bad
 * file never stays live.
 */
import * as crypto from 'node:crypto';
import { createHash } from 'node:crypto';
import { dirname } from 'node:path';
import { q } from '../../ssh/quote.ts';
import { rememberLong } from '../../util/memo.ts';
import type { Later } from './later.ts';
import { ProbeOutputError, ROOT, type Change, type Notify, type StepKind } from './types.ts';

export interface FileStep {
  readonly kind: 'file';
  readonly title: string;
  readonly path: string;
  readonly content: string;
  /** Octal, e.g. '0644'. */
  readonly mode: string;
  readonly owner: string;
  readonly group: string;
  readonly notify?: readonly Notify[];
  /** Content is secret: never shown in diffs, never read back. */
  readonly secret?: boolean;
  /**
   * Checks the configuration with the new file in place (`apache2ctl -t`, `nginx -t`...); when
   * it fails, the previous file (or none) is put back and the step fails.
   */
  readonly validate?: string;
}

export type FileFact =
  | { readonly exists: false }
  | {
      readonly exists: true;
      readonly mode: string;
      readonly owner: string;
      readonly group: string;
      readonly sha256: string;
    };

type FileOptions = Partial<
  Pick<FileStep, 'mode' | 'owner' | 'group' | 'notify' | 'secret' | 'title' | 'validate'>
>;

/** Steps whose content is made when read (their `content` is a getter), with how it is made. */
const later = new WeakMap<FileStep, Later>();

/**
 * A file step. `content` may be given as a Later: the step's `content` then makes the text each
 * time it is read, and the plan asks only for its sha256 (see later.ts).
 */
export function file(path: string, content: string | Later, options: FileOptions = {}): FileStep {
  if (typeof content === 'string') return stepOf(path, content, options);
  const made = content;
  // The same fields in the same order (a key defined again keeps its place), `content` a getter.
  const step: FileStep = {
    ...stepOf(path, '', options),
    get content() {
      return made.text();
    },
  };
  later.set(step, made);
  return step;
}

function stepOf(path: string, content: string, options: FileOptions): FileStep {
  return {
    kind: 'file',
    title: options.title ?? `File ${path}`,
    path,
    content,
    mode: options.mode ?? '0644',
    owner: options.owner ?? ROOT.owner,
    group: options.group ?? ROOT.group,
    ...(options.notify ? { notify: options.notify } : {}),
    ...(options.secret ? { secret: true } : {}),
    ...(options.validate ? { validate: options.validate } : {}),
  };
}

/** Node's one-shot hash (20.12 and later): no Hash object per file. */
const oneShot = (crypto as { hash?: (algorithm: string, data: string) => string }).hash;

export function sha256(text: string): string {
  return oneShot
    ? oneShot('sha256', text)
    : createHash('sha256').update(text, 'utf8').digest('hex');
}

/**
 * Files of 256 KiB and more (the agent's bundle, over a megabyte, the same for every server) are
 * hashed and encoded once for all servers; the last few are kept.
 */
const LONG = { minLength: 256 * 1024, entries: 4 };
const contentSha256 = rememberLong(sha256, LONG);

/** The sha256 of a step's content: of its text, or from the parts a Later makes it of. */
export function stepSha256(step: FileStep): string {
  const made = later.get(step);
  if (!made) return contentSha256(step.content);
  return made.sha256 ? made.sha256() : sha256(made.text());
}

/** The content as base64 in lines of 76 characters (each full line ends with a newline). */
export function base64Lines(content: string): string {
  const b64 = Buffer.from(content, 'utf8').toString('base64');
  const full = b64.length - (b64.length % 76);
  const lines: string[] = [];
  for (let i = 0; i < full; i += 76) lines.push(b64.slice(i, i + 76), '\n');
  lines.push(b64.slice(full));
  return lines.join('');
}
const encoded = rememberLong(base64Lines, LONG);

/** Normalises a mode to four octal digits ('644' → '0644'). */
export function normMode(mode: string): string {
  return mode.padStart(4, '0');
}

/** A heredoc delimiter that cannot occur in base64 text. */
const EOF_MARK = 'SHOESTRING_EOF';

/**
 * Shell writing `content` to `path` atomically. The temp file is removed on every exit path
 * (`shoestring_on_exit`, from the apply prelude), and temp files an interrupted run left beside
 * the file are removed first.
 */
export function writeFileScript(step: FileStep): string {
  const { path, content } = step;
  const head = [
    `mkdir -p ${q(dirname(path))}`,
    `rm -f ${q(path)}.shoestring.??????`,
    `tmp=$(mktemp ${q(`${path}.shoestring.XXXXXX`)})`,
    // printf %q quotes the name for the eval at exit, whatever the path holds.
    `shoestring_on_exit "rm -f $(printf %q "$tmp")"`,
    `base64 -d > "$tmp" <<'${EOF_MARK}'`,
  ].join('\n');
  const owned = [
    EOF_MARK,
    `chown ${q(`${step.owner}:${step.group}`)} "$tmp"`,
    `chmod ${q(normMode(step.mode))} "$tmp"`,
  ];
  // Concatenated, not join()ed: every server's script then shares the one encoded text (no
  // copy per server of a megabyte bundle) until it is sent.
  const tail = (rest: readonly string[]) => [...owned, ...rest].join('\n');
  const write = (rest: readonly string[]) => `${head}\n${encoded(content)}\n${tail(rest)}`;
  if (!step.validate) return write([`mv -f "$tmp" ${q(path)}`]);
  const old = `${path}.shoestring-previous`;
  return write([
    `if [ -e ${q(path)} ]; then cp -p ${q(path)} ${q(old)}; had=1; else had=0; fi`,
    `mv -f "$tmp" ${q(path)}`,
    `if ! out=$( { ${step.validate} ; } 2>&1); then`,
    `  if [ "$had" = 1 ]; then mv -f ${q(old)} ${q(path)}; else rm -f ${q(path)}; fi`,
    `  printf '%s\\n' "$out" | tail -n 5 >&2`,
    `  echo ${q(`${path}: the new file fails its check (${step.validate}); the previous one is back`)} >&2`,
    `  exit 1`,
    `fi`,
    `rm -f ${q(old)}`,
  ]);
}

export const fileKind: StepKind<FileStep, FileFact> = {
  probe: (s) => {
    const path = q(s.path);
    return `if [ -f ${path} ] && [ ! -L ${path} ]; then stat -c '%a %U %G' ${path}; sha256sum < ${path} | cut -d' ' -f1; else echo MISSING; fi`;
  },
  parse(_step, lines) {
    if (lines[0] === 'MISSING') return { exists: false };
    const [mode, owner, group] = (lines[0] ?? '').split(' ');
    const sum = lines[1] ?? '';
    if (!mode || !owner || !group || !/^[0-9a-f]{64}$/.test(sum))
      throw new ProbeOutputError(lines.join(' | '));
    return { exists: true, mode: normMode(mode), owner, group, sha256: sum };
  },
  decide(step, fact): Change | null {
    const mode = normMode(step.mode);
    const notify = step.notify ?? [];
    // The text only when it is read (a dry run's diff): a plan holds no copy of it.
    const content = {
      path: step.path,
      get text() {
        return step.content;
      },
      secret: step.secret === true,
    };
    if (!fact.exists || fact.sha256 !== stepSha256(step)) {
      let script: string | undefined;
      return {
        title: step.title,
        summary: fact.exists
          ? `update ${step.path}`
          : `create ${step.path} (${mode} ${step.owner}:${step.group})`,
        // Made when the change is applied, not when it is planned: a plan of hundreds of
        // servers then holds no encoded copy of each of their files.
        get script() {
          script ??= writeFileScript(step);
          return script;
        },
        notify,
        path: step.path,
        content,
      };
    }
    const fixes: string[] = [];
    const parts: string[] = [];
    if (fact.owner !== step.owner || fact.group !== step.group) {
      fixes.push(`chown ${q(`${step.owner}:${step.group}`)} ${q(step.path)}`);
      parts.push(`owner ${fact.owner}:${fact.group} → ${step.owner}:${step.group}`);
    }
    if (fact.mode !== mode) {
      fixes.push(`chmod ${q(mode)} ${q(step.path)}`);
      parts.push(`mode ${fact.mode} → ${mode}`);
    }
    if (fixes.length === 0) return null;
    return {
      title: step.title,
      summary: `fix ${step.path}: ${parts.join(', ')}`,
      script: fixes.join('\n'),
      notify,
      path: step.path,
    };
  },
};
