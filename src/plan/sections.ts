/**
 * The one protocol for marker-delimited output: a remote script prints a marker line before each
 * section (`section('status')` in shell), and `readSections` splits the output back (pure). Every
 * probe, query and apply script speaks it, so no component parses markers of its own.
 */
import { q } from '../ssh/quote.ts';

const PREFIX = '@@shoestring:';

/** Shell that starts a section named `name` on stdout (or on stderr with `toStderr`). */
export function section(name: string, toStderr = false): string {
  return `echo ${q(PREFIX + name)}${toStderr ? ' >&2' : ''}`;
}

/** The marker line itself, for text that is not run through a shell. */
export function sectionLine(name: string): string {
  return PREFIX + name;
}

/**
 * Splits output into sections: name → its lines (empty lines dropped, text before the first
 * marker ignored). A name given twice keeps both sections' lines, in order.
 */
export function readSections(output: string): Map<string, string[]> {
  const sections = new Map<string, string[]>();
  let current: string[] | undefined;
  for (const raw of output.split('\n')) {
    const line = raw.trimEnd();
    if (line.startsWith(PREFIX)) {
      const name = line.slice(PREFIX.length);
      current = sections.get(name) ?? [];
      sections.set(name, current);
    } else if (current && line.trim() !== '') {
      current.push(line);
    }
  }
  return sections;
}

/** Every line of `text` that is not a marker line (what a human should see of stderr). */
export function withoutMarkers(text: string): string {
  return text
    .split('\n')
    .filter((l) => !l.startsWith(PREFIX))
    .join('\n');
}

/** Sections as trimmed texts (for sections holding one value or one JSON document). */
export function textSections(output: string): Map<string, string> {
  return new Map([...readSections(output)].map(([k, v]) => [k, v.join('\n').trim()]));
}
