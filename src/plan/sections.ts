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
    } else if (current && line !== '') {
      // (trimEnd left nothing of a line of blanks)
      current.push(line);
    }
  }
  return sections;
}

/** Where the next marker line starts, from `from` on (-1: none). */
function nextMarker(output: string, from: number): number {
  for (let at = output.indexOf(PREFIX, from); at >= 0; at = output.indexOf(PREFIX, at + 1)) {
    if (at === 0 || output[at - 1] === '\n') return at;
  }
  return -1;
}

/**
 * Each section's lines as readSections gives them, each followed by a newline, as one text. A
 * section that needs no cleaning (no blank line, no blank at a line's end) is taken as it stands
 * in the output, without a string per line: a server's WireGuard configuration lists every other
 * server, and hundreds of servers answer.
 */
export function sectionBlocks(output: string): Map<string, string> {
  const blocks = new Map<string, string>();
  for (let at = nextMarker(output, 0); at >= 0;) {
    const eol = output.indexOf('\n', at);
    const start = eol < 0 ? output.length : eol + 1;
    const name = output.slice(at + PREFIX.length, eol < 0 ? output.length : eol).trimEnd();
    const next = nextMarker(output, start);
    const body = output.slice(start, next < 0 ? output.length : next);
    const ends = body.endsWith('\n');
    const clean = !/\s\n/.test(body) && !body.startsWith('\n') && (ends || !/\s$/.test(body));
    let text = body;
    if (!clean) {
      const lines: string[] = [];
      for (const raw of body.split('\n')) {
        const line = raw.trimEnd();
        if (line !== '') lines.push(line, '\n');
      }
      text = lines.join('');
    } else if (body !== '' && !ends) text = `${body}\n`;
    const before = blocks.get(name);
    blocks.set(name, before === undefined ? text : before + text);
    at = next;
  }
  return blocks;
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
