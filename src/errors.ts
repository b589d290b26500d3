/**
 * The error hierarchy. Each error explains itself in one line (`message`), may carry a `hint`
 * (what to do next) and maps to the process exit code of the command that met it.
 */
export class ShoestringError extends Error {
  /** 1 = a host or an operation failed, 2 = bad input (nothing was changed). */
  readonly exitCode: number = 1;
  readonly hint: string | undefined;
  constructor(message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.hint = options.hint;
  }
}

/** Bad input: configuration files, arguments. Raised before anything is touched. */
export class ConfigError extends ShoestringError {
  override readonly exitCode = 2;
  /** Every problem found, one line each (the message is their summary). */
  readonly problems: readonly string[];
  constructor(message: string, problems: readonly string[] = [], options: { hint?: string } = {}) {
    super(problems.length > 0 ? `${message}\n  - ${problems.join('\n  - ')}` : message, options);
    this.problems = problems;
  }
}

export type ConnectFailure = 'unreachable' | 'auth' | 'host-key-changed' | 'timeout';

/** SSH could not reach or log into a host. */
export class ConnectError extends ShoestringError {
  constructor(
    readonly host: string,
    readonly reason: ConnectFailure,
    detail: string,
    knownHosts = '.shoestring/known_hosts',
  ) {
    super(`${host}: ${connectReasonText(reason)}${detail ? ` (${detail})` : ''}`, {
      hint: connectHint(reason, host, knownHosts),
    });
  }
}

function connectReasonText(reason: ConnectFailure): string {
  switch (reason) {
    case 'unreachable':
      return 'host unreachable';
    case 'auth':
      return 'authentication refused';
    case 'host-key-changed':
      return 'host key changed';
    case 'timeout':
      return 'connection timed out';
  }
}

function connectHint(reason: ConnectFailure, host: string, knownHosts: string): string {
  switch (reason) {
    case 'unreachable':
    case 'timeout':
      return `check that ${host} is up and that port 22 is open from here`;
    case 'auth':
      return 'check SSH_USER / SSH_KEY in .env, your ssh-agent, or ~/.ssh/config';
    case 'host-key-changed':
      return `if ${host} was rebuilt on purpose, remove its line: ssh-keygen -R ${host} -f ${knownHosts}; otherwise someone may be intercepting the connection`;
  }
}

/** A command on a host exited non-zero. */
export class CommandError extends ShoestringError {
  constructor(
    readonly host: string,
    readonly what: string,
    readonly exitStatus: number | null,
    readonly stderrTail: string,
  ) {
    super(
      `${host}: ${what} exited ${exitStatus ?? 'by signal'}${stderrTail ? `: ${stderrTail}` : ''}`,
    );
  }
}

/** A template could not be rendered (a missing variable, a syntax error). */
export class TemplateError extends ShoestringError {}

/** Probe output could not be understood. */
export class FactError extends ShoestringError {}

/** A health gate did not pass. */
export class GateError extends ShoestringError {}

/** The cluster-wide operator lock is held by someone else, or could not be taken. */
export class LockError extends ShoestringError {}

/** Last `n` non-empty lines of a text, joined by ' | ', for one-line error messages. */
export function tail(text: string, n = 3): string {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '')
    .slice(-n)
    .join(' | ');
}
