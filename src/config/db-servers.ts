/**
 * db-servers.txt (optional, beside servers.txt): the servers that run a database member, one a
 * line, each written as in servers.txt (or just its host). Without the file every server is a
 * member. `#` comments and blank lines are ignored. Pure: text in, server indices out.
 */
import { ConfigError } from '../errors.ts';
import { clip } from './clip.ts';
import { parseServerSpec, type Server } from './servers.ts';

const norm = (host: string) => host.toLowerCase().replace(/\.$/, '');

/** The servers (in servers.txt order) that db-servers.txt names. `file` names it in errors. */
export function parseDbServers(text: string, file: string, servers: readonly Server[]): Server[] {
  const problems: string[] = [];
  const chosen = new Map<Server, number>();
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = index + 1;
    const content = raw.replace(/#.*$/, '').trim();
    if (content === '') return;
    if (/\s/.test(content)) {
      problems.push(`${file}:${line}: "${clip(content)}": one server a line, as in servers.txt`);
      return;
    }
    const parsed = parseServerSpec(content);
    if (typeof parsed === 'string') {
      problems.push(`${file}:${line}: ${parsed}`);
      return;
    }
    const matches = servers.filter(
      (s) =>
        norm(s.host) === norm(parsed.host) &&
        (parsed.port === undefined || (s.port ?? 22) === parsed.port),
    );
    if (matches.length !== 1) {
      problems.push(
        matches.length === 0
          ? `${file}:${line}: "${clip(content)}" is not in servers.txt: add it there first, or remove this line`
          : `${file}:${line}: "${clip(content)}" matches several lines of servers.txt: add its port`,
      );
      return;
    }
    const server = matches[0] as Server;
    const earlier = chosen.get(server);
    if (earlier !== undefined) {
      problems.push(
        `${file}:${line}: "${clip(content)}" duplicates line ${earlier} (the same server): remove one of them`,
      );
      return;
    }
    chosen.set(server, line);
  });
  if (problems.length > 0) {
    throw new ConfigError(`${file} has ${problems.length} problem(s):`, problems, {
      hint: 'one server a line, each one of servers.txt (remove the file to make every server a database member)',
    });
  }
  if (chosen.size === 0) {
    throw new ConfigError(`${file} names no server`, [], {
      hint: 'list the database servers, one a line, or remove the file to use every server',
    });
  }
  return servers.filter((s) => chosen.has(s));
}
