/**
 * The .env keys of DATABASE=tidb (TIUP_MIRROR, TIDB_VERSION), validated (pure). They are read
 * only with DATABASE=tidb, like the DNS provider keys with their provider. Problems are pushed to
 * the caller's list, naming the key. The TiDB path is planned and unit-tested but never run by
 * the test suite: TiDB's binaries cannot be downloaded where the suite runs.
 */
import type { TidbConfig } from './env.ts';
import { clip } from './clip.ts';

type Get = (key: string) => string | undefined;

/** PingCAP's public TiUP mirror (the servers need internet access to use it). */
export const PUBLIC_TIUP_MIRROR = 'https://tiup-mirrors.pingcap.com';

/** A TiDB release as TiUP names it: `v` and three numbers (v7.5.1). */
const VERSION = /^v\d{1,3}\.\d{1,3}\.\d{1,3}$/;

/** Why `text` is not a TIDB_VERSION; undefined when it is one. */
export function tidbVersionProblem(text: string): string | undefined {
  return VERSION.test(text)
    ? undefined
    : `TIDB_VERSION=${clip(text)} is not a TiDB release like v7.5.1 (v and three numbers; see tiup list tidb)`;
}

/** Why `text` is not a TIUP_MIRROR; undefined when it is one. */
export function tiupMirrorProblem(text: string): string | undefined {
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    return `TIUP_MIRROR=${clip(text)} is not an http(s) URL`;
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:')
    return `TIUP_MIRROR=${clip(text)} is not an http(s) URL`;
  // TiUP stores the address and prints it: a password in it would end up in logs.
  if (u.username !== '' || u.password !== '')
    return `TIUP_MIRROR=${clip(text)} must not carry a user or password`;
  // TiUP appends file names to the address.
  if (u.search !== '' || u.hash !== '')
    return `TIUP_MIRROR=${clip(text)} must be a plain address without ? or #`;
  return undefined;
}

/** The TiDB settings (call only with DATABASE=tidb: TIDB_VERSION is required then). */
export function tidbSettings(get: Get, problems: string[]): TidbConfig {
  const mirror = (get('TIUP_MIRROR') ?? PUBLIC_TIUP_MIRROR).replace(/\/+$/, '');
  const mirrorWhy = tiupMirrorProblem(mirror);
  if (mirrorWhy) problems.push(mirrorWhy);
  const version = get('TIDB_VERSION');
  if (version === undefined)
    problems.push(
      'TIDB_VERSION is missing: DATABASE=tidb deploys the TiDB release it names, e.g. v7.5.1',
    );
  else {
    const versionWhy = tidbVersionProblem(version);
    if (versionWhy) problems.push(versionWhy);
  }
  return { mirror, version: version ?? '' };
}
