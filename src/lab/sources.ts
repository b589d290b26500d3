/**
 * The host's apt sources: the lab fetches only from the mirrors the host's apt already uses.
 * Reads /etc/apt/sources.list and /etc/apt/sources.list.d/*.list|*.sources (one-line and deb822).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../errors.ts';

export interface AptSource {
  uri: string;
  suites: string[];
  components: string[];
  signedBy?: string;
}

/** Parses one-line format (`deb [opts] uri suite comp...`); only `deb` entries. */
export function parseOneLine(text: string): AptSource[] {
  const out: AptSource[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*$/, '').trim();
    if (!line.startsWith('deb ')) continue;
    let rest = line.slice(4).trim();
    let signedBy: string | undefined;
    if (rest.startsWith('[')) {
      const end = rest.indexOf(']');
      const opts = rest.slice(1, end);
      signedBy = /signed-by=(\S+)/.exec(opts)?.[1];
      rest = rest.slice(end + 1).trim();
    }
    const [uri, suite, ...components] = rest.split(/\s+/);
    if (!uri || !suite) continue;
    out.push({ uri, suites: [suite], components, ...(signedBy ? { signedBy } : {}) });
  }
  return out;
}

/** Parses deb822 format (`Types: deb`, `URIs:`, `Suites:`, `Components:`, `Enabled:`). */
export function parseDeb822(text: string): AptSource[] {
  const out: AptSource[] = [];
  const stanzas = text.split(/\n\s*\n/);
  for (const stanza of stanzas) {
    const fields = new Map<string, string>();
    let last = '';
    for (const raw of stanza.split('\n')) {
      if (raw.startsWith('#')) continue;
      if (/^\s/.test(raw) && last) {
        fields.set(last, `${fields.get(last) ?? ''} ${raw.trim()}`);
        continue;
      }
      const m = /^([A-Za-z-]+):\s*(.*)$/.exec(raw);
      if (!m?.[1]) continue;
      last = m[1].toLowerCase();
      fields.set(last, m[2] ?? '');
    }
    const words = (k: string): string[] => (fields.get(k) ?? '').split(/\s+/).filter(Boolean);
    if (!words('types').includes('deb')) continue;
    if ((fields.get('enabled') ?? 'yes').trim().toLowerCase() === 'no') continue;
    const signedBy = fields.get('signed-by')?.trim();
    for (const uri of words('uris')) {
      out.push({
        uri,
        suites: words('suites'),
        components: words('components'),
        ...(signedBy && !signedBy.includes(' ') ? { signedBy } : {}),
      });
    }
  }
  return out;
}

export function hostSources(etcApt = '/etc/apt'): AptSource[] {
  const out: AptSource[] = [];
  try {
    out.push(...parseOneLine(readFileSync(join(etcApt, 'sources.list'), 'utf8')));
  } catch {
    // no sources.list: fine, deb822 files may hold everything
  }
  let files: string[] = [];
  try {
    files = readdirSync(join(etcApt, 'sources.list.d')).sort();
  } catch {
    files = [];
  }
  for (const f of files) {
    const text = readFileSync(join(etcApt, 'sources.list.d', f), 'utf8');
    if (f.endsWith('.list')) out.push(...parseOneLine(text));
    else if (f.endsWith('.sources')) out.push(...parseDeb822(text));
  }
  return out;
}

/** The host's Debian sources for a release (suites `bookworm`, `bookworm-updates`, `bookworm-security`...). */
export function debianSources(release: string, all = hostSources()): AptSource[] {
  const mine = all
    .map((s) => ({
      ...s,
      suites: s.suites.filter((x) => x === release || x.startsWith(`${release}-`)),
    }))
    .filter((s) => s.suites.length > 0 && s.uri.startsWith('http://'));
  if (!mine.some((s) => s.suites.includes(release))) {
    throw new ConfigError(`the host's apt has no plain-http source for Debian ${release}`, [], {
      hint: 'the lab fetches packages only from the mirror the host already uses; add one to /etc/apt/sources.list.d/',
    });
  }
  return mine;
}

/** One-line `deb` entries, one per suite (what mmdebstrap and the servers' sources.list get). */
export function oneLineEntries(sources: readonly AptSource[]): string[] {
  return sources.flatMap((s) =>
    s.suites.map(
      (suite) =>
        `deb ${s.uri} ${suite} ${(s.components.length ? s.components : ['main']).join(' ')}`,
    ),
  );
}
