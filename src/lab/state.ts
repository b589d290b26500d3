/** .lab/state.json: what the lab is (subnet, domain, servers, the DNS API key). */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { ConfigError } from '../errors.ts';
import { registerSecret } from '../redact.ts';
import { labDir, paths } from './paths.ts';

export interface ServerState {
  name: string;
  address: string;
  /** Pid of the supervisor that runs systemd-nspawn (restarting it after a reboot). */
  supervisorPid?: number;
}

export interface LabState {
  subnet: string;
  domain: string;
  pdnsApiKey: string;
  image?: string;
  servers: ServerState[];
}

export function loadState(): LabState | undefined {
  if (!existsSync(paths.state)) return undefined;
  try {
    const s = JSON.parse(readFileSync(paths.state, 'utf8')) as LabState;
    registerSecret(s.pdnsApiKey);
    return s;
  } catch (e) {
    throw new ConfigError(`${paths.state} is not valid JSON (${String(e)})`, [], {
      hint: 'run: scripts/lab.ts down',
    });
  }
}

export function requireState(): LabState {
  const s = loadState();
  if (!s) throw new ConfigError('the lab is not up', [], { hint: 'run: scripts/lab.ts up' });
  return s;
}

export function saveState(s: LabState): void {
  mkdirSync(labDir, { recursive: true, mode: 0o700 });
  const tmp = `${paths.state}.tmp`;
  writeFileSync(tmp, JSON.stringify(s, null, 2) + '\n', { mode: 0o600 });
  renameSync(tmp, paths.state);
}

/** Finds a server by name (`s1`) or address. */
export function findServer(s: LabState, which: string): ServerState {
  const found = s.servers.find((x) => x.name === which || x.address === which);
  if (!found) {
    throw new ConfigError(`no lab server ${which}`, [], {
      hint: `servers: ${s.servers.map((x) => `${x.name} (${x.address})`).join(', ') || 'none'}`,
    });
  }
  return found;
}
