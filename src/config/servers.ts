/**
 * servers.txt: one server a line, `#` comments and blank lines ignored.
 * A line is `[user@]host[:port] [private-address]`; host is an IPv4 address, a bracketed IPv6
 * address (`[2001:db8::1]:2222`, or bare without a port), or a host name. The optional second
 * field is the server's address on a private network the servers already share (IPv4); given
 * for every server or for none (then WireGuard makes the private network).
 */
import { isIP, isIPv4, isIPv6 } from 'node:net';
import { ConfigError } from '../errors.ts';
import { clip } from './clip.ts';

export interface Server {
  /** As written in the file (minus comments), used as the display name. */
  readonly spec: string;
  readonly host: string;
  readonly user: string | undefined;
  readonly port: number | undefined;
  /** 1-based line in the file. */
  readonly line: number;
  /** Its address on a private network the servers already share (servers.txt's second field). */
  readonly private?: string;
}

const HOSTNAME =
  /^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$/;
const USER = /^[a-z_][a-z0-9_.-]{0,31}$/i;

/** Parses one entry; returns an error text instead of throwing so all lines are reported. */
export function parseServerSpec(
  spec: string,
): { host: string; user?: string; port?: number } | string {
  let rest = spec;
  let user: string | undefined;
  const at = rest.lastIndexOf('@');
  if (at >= 0) {
    user = rest.slice(0, at);
    rest = rest.slice(at + 1);
    if (!USER.test(user)) return `invalid user name "${clip(user)}"`;
  }
  let host = rest;
  let portText: string | undefined;
  const bracket = /^\[([^\]]+)\](?::(.*))?$/.exec(rest);
  if (bracket) {
    host = bracket[1] ?? '';
    portText = bracket[2];
    if (!isIPv6(host)) return `"${clip(host)}" in brackets is not an IPv6 address`;
  } else if (isIPv6(rest)) {
    host = rest;
  } else {
    const colon = rest.lastIndexOf(':');
    if (colon >= 0) {
      host = rest.slice(0, colon);
      portText = rest.slice(colon + 1);
    }
    if (host === '') return 'missing host';
    if (/^[0-9.]+$/.test(host)) {
      if (!isIPv4(host)) return `"${clip(host)}" is not a valid IPv4 address`;
    } else if (!HOSTNAME.test(host)) {
      return `"${clip(host)}" is not a valid host name or address`;
    }
  }
  const out: { host: string; user?: string; port?: number } = { host };
  if (user !== undefined) out.user = user;
  if (portText !== undefined) {
    const port = Number(portText);
    if (!/^\d+$/.test(portText) || port < 1 || port > 65535)
      return `invalid port "${clip(portText)}": a port is a whole number from 1 to 65535 (or leave it out for 22)`;
    out.port = port;
  }
  return out;
}

/** Parses the text of a servers file. `file` names it in errors. */
export function parseServers(
  text: string,
  file: string,
  options: { allowEmpty?: boolean } = {},
): Server[] {
  const problems: string[] = [];
  const servers: Server[] = [];
  const seen = new Map<string, number>();
  const privates = new Map<string, number>();
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = index + 1;
    const content = raw.replace(/#.*$/, '').trim();
    if (content === '') return;
    const fields = content.split(/\s+/);
    if (fields.length > 2) {
      problems.push(
        `${file}:${line}: "${clip(content)}": one server a line, then at most its private address`,
      );
      return;
    }
    const [spec = '', privateAddress] = fields;
    if (privateAddress !== undefined && isIP(privateAddress) !== 4) {
      problems.push(
        `${file}:${line}: "${clip(privateAddress)}" after the server is not an IPv4 private address: write the server's IPv4 address on your private network there, or nothing`,
      );
      return;
    }
    const parsed = parseServerSpec(spec);
    if (typeof parsed === 'string') {
      problems.push(`${file}:${line}: ${parsed}`);
      return;
    }
    const key = `${parsed.host.toLowerCase().replace(/\.$/, '')}:${parsed.port ?? 22}`;
    const first = seen.get(key);
    if (first !== undefined) {
      problems.push(
        `${file}:${line}: "${clip(spec)}" duplicates line ${first} (the same host and port): remove one of them`,
      );
      return;
    }
    seen.set(key, line);
    if (privateAddress !== undefined) {
      const other = privates.get(privateAddress);
      if (other !== undefined) {
        problems.push(
          `${file}:${line}: private address ${privateAddress} is also line ${other}'s: give each server its own`,
        );
        return;
      }
      privates.set(privateAddress, line);
    }
    const server = { spec, host: parsed.host, user: parsed.user, port: parsed.port, line };
    servers.push(privateAddress === undefined ? server : { ...server, private: privateAddress });
  });
  const withPrivate = servers.filter((s) => s.private !== undefined);
  if (withPrivate.length > 0 && withPrivate.length < servers.length) {
    const missing = servers.filter((s) => s.private === undefined).map((s) => s.line);
    const lines =
      missing.length === 1 ? `line ${missing[0]} gives` : `lines ${missing.join(', ')} give`;
    problems.push(
      `${file}: ${lines} no private address while others do: give one for every server (a private network you already have) or for none (WireGuard makes one)`,
    );
  }
  if (problems.length > 0) {
    throw new ConfigError(`${file} has ${problems.length} problem(s):`, problems, {
      hint: 'one server a line: an IPv4/IPv6 address or host name, optionally user@host:port; # starts a comment',
    });
  }
  if (servers.length === 0 && !options.allowEmpty) {
    throw new ConfigError(`${file} lists no server`, [], {
      hint: `add one server address a line to ${file} (see the comments in it)`,
    });
  }
  return servers;
}
