/**
 * Templates: `templates/<component>/<remote file name>.hbs`, rendered by handlebars with
 * `strict: true` (a missing variable is an error, not an empty string) and `noEscape: true`
 * (these are config files, not HTML). Logic stays in TypeScript; templates get flat values.
 */
import { readFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import Handlebars from 'handlebars';
import { TemplateError } from './errors.ts';
import { flat } from './util/flat.ts';

export const TEMPLATES_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'templates');

const cache = new Map<string, Handlebars.TemplateDelegate>();

/** Texts at least this long are made flat (below). */
const FLAT_FROM = 4096;

/**
 * Handlebars concatenates its output piece by piece: for a file listing every server, thousands
 * of small objects until it is read whole. Kept in the plans of hundreds of servers, those were
 * most of the heap and of the garbage collector's work; flat, a long text takes a quarter.
 */
function flatIfLong(text: string): string {
  return text.length >= FLAT_FROM ? flat(text) : text;
}

/** Renders template text; `name` is used in errors. */
export function renderText(name: string, text: string, data: Record<string, unknown>): string {
  let compiled = cache.get(text);
  try {
    if (!compiled) {
      compiled = Handlebars.compile(text, {
        strict: true,
        noEscape: true,
        // Only Handlebars' own helpers (each, if...), called directly; and the @index-style
        // variables only where a template asks for one (keeping them per item of a list of
        // hundreds of servers costs about as much as the list).
        knownHelpersOnly: true,
        data: text.includes('@'),
      });
      cache.set(text, compiled);
    }
    return flatIfLong(compiled(data));
  } catch (e) {
    const message = e instanceof Error ? e.message.split('\n')[0] : String(e);
    throw new TemplateError(`template ${name}: ${message}`, {
      hint: 'every {{variable}} in a template must be given a value by its component',
    });
  }
}

/** Template files as read, by path: read once per process, not once per server. */
const texts = new Map<string, string>();

/**
 * Renders of templates given a few short flat values (strings, numbers, booleans), by path and
 * values: most are the same on every server (a unit file, a helper script), and hundreds of
 * servers then share one text. Forgotten all at once when RENDERED_KEPT are kept.
 */
const rendered = new Map<string, string>();
const RENDERED_KEPT = 1024;
const SHORT = 256;

function renderedKey(path: string, data: Record<string, unknown>): string | undefined {
  for (const v of Object.values(data)) {
    if (typeof v === 'string' ? v.length > SHORT : typeof v !== 'number' && typeof v !== 'boolean')
      return undefined;
  }
  return `${path}\n${JSON.stringify(data)}`;
}

/**
 * Renders `templates/<path>` (e.g. `etcd/etcd.env.hbs`). `unique`: a render no other server
 * shares (one per server), not kept among the renders above (hundreds would push them out).
 */
export function render(
  path: string,
  data: Record<string, unknown>,
  options: { readonly unique?: boolean } = {},
): string {
  const key = options.unique ? undefined : renderedKey(path, data);
  const known = key === undefined ? undefined : rendered.get(key);
  if (known !== undefined) return known;
  let text = texts.get(path);
  if (text === undefined) {
    try {
      text = readFileSync(join(TEMPLATES_DIR, path), 'utf8');
    } catch {
      throw new TemplateError(`template ${path} not found in ${TEMPLATES_DIR}`);
    }
    texts.set(path, text);
  }
  const out = renderText(path, text, data);
  if (key !== undefined) {
    if (rendered.size >= RENDERED_KEPT) rendered.clear();
    rendered.set(key, out);
  }
  return out;
}
