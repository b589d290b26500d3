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

export const TEMPLATES_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'templates');

const cache = new Map<string, Handlebars.TemplateDelegate>();

/** Renders template text; `name` is used in errors. */
export function renderText(name: string, text: string, data: Record<string, unknown>): string {
  let compiled = cache.get(text);
  try {
    if (!compiled) {
      compiled = Handlebars.compile(text, { strict: true, noEscape: true });
      cache.set(text, compiled);
    }
    return compiled(data);
  } catch (e) {
    const message = e instanceof Error ? e.message.split('\n')[0] : String(e);
    throw new TemplateError(`template ${name}: ${message}`, {
      hint: 'every {{variable}} in a template must be given a value by its component',
    });
  }
}

/** Renders `templates/<path>` (e.g. `etcd/etcd.env.hbs`). */
export function render(path: string, data: Record<string, unknown>): string {
  let text: string;
  try {
    text = readFileSync(join(TEMPLATES_DIR, path), 'utf8');
  } catch {
    throw new TemplateError(`template ${path} not found in ${TEMPLATES_DIR}`);
  }
  return renderText(path, text, data);
}
