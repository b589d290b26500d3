/**
 * Desired-state steps: what a server should look like, as data. Components build them;
 * facts.ts probes the current state; decide.ts turns (step, fact) into a change or nothing.
 */

export interface Notify {
  readonly service: string;
  /**
   * `restart-later` only records that the service needs a restart (`restartMarker`): a later
   * step does it, e.g. one cluster member at a time so that the cluster keeps its quorum.
   */
  readonly action: 'restart' | 'reload' | 'restart-later';
  /** Run before the restart/reload (e.g. `apache2ctl -t`); a failure stops it. */
  readonly check?: string;
}

export interface PackagesStep {
  readonly kind: 'packages';
  readonly title: string;
  readonly names: readonly string[];
  /** Keep the packages' services from starting on install (policy-rc.d), e.g. etcd-server. */
  readonly noStart?: boolean;
}

export interface FileStep {
  readonly kind: 'file';
  readonly title: string;
  readonly path: string;
  readonly content: string;
  /** Octal, e.g. '0644'. */
  readonly mode: string;
  readonly owner: string;
  readonly group: string;
  readonly notify?: readonly Notify[];
  /** Content is secret: never shown in diffs. */
  readonly secret?: boolean;
}

export interface DirectoryStep {
  readonly kind: 'directory';
  readonly title: string;
  readonly path: string;
  readonly mode: string;
  readonly owner: string;
  readonly group: string;
}

export interface ServiceStep {
  readonly kind: 'service';
  readonly title: string;
  readonly name: string;
  readonly enabled: boolean;
  readonly running: boolean;
}

export interface CommandStep {
  readonly kind: 'command';
  readonly title: string;
  /** A check: exit 0 means the work is already done. Re-checked when applying. */
  readonly unless: string;
  readonly run: string;
  readonly notify?: readonly Notify[];
}

export type Step = PackagesStep | FileStep | DirectoryStep | ServiceStep | CommandStep;

/** A titled group of steps probed and applied in one round trip each ("Install etcd"). */
export interface Phase {
  readonly title: string;
  readonly steps: readonly Step[];
}

const ROOT = { owner: 'root', group: 'root' } as const;

/** The file that says a service awaits a `restart-later` restart (gone at the next boot). */
export function restartMarker(service: string): string {
  return `/run/shoestring/restart-${service}`;
}

/** Builders: resource nouns with desired-state options. */
export const apt = {
  packages(
    names: readonly string[],
    options: { noStart?: boolean; title?: string } = {},
  ): PackagesStep {
    const step: PackagesStep = {
      kind: 'packages',
      title: options.title ?? `Packages ${names.join(' ')}`,
      names,
    };
    return options.noStart ? { ...step, noStart: true } : step;
  },
};

export const files = {
  file(
    path: string,
    content: string,
    options: Partial<
      Pick<FileStep, 'mode' | 'owner' | 'group' | 'notify' | 'secret' | 'title'>
    > = {},
  ): FileStep {
    return {
      kind: 'file',
      title: options.title ?? `File ${path}`,
      path,
      content,
      mode: options.mode ?? '0644',
      owner: options.owner ?? ROOT.owner,
      group: options.group ?? ROOT.group,
      ...(options.notify ? { notify: options.notify } : {}),
      ...(options.secret ? { secret: true } : {}),
    };
  },
  directory(
    path: string,
    options: Partial<Pick<DirectoryStep, 'mode' | 'owner' | 'group'>> = {},
  ): DirectoryStep {
    return {
      kind: 'directory',
      title: `Directory ${path}`,
      path,
      mode: options.mode ?? '0755',
      owner: options.owner ?? ROOT.owner,
      group: options.group ?? ROOT.group,
    };
  },
};

export const systemd = {
  service(name: string, options: { enabled?: boolean; running?: boolean } = {}): ServiceStep {
    return {
      kind: 'service',
      title: `Service ${name}`,
      name,
      enabled: options.enabled ?? true,
      running: options.running ?? true,
    };
  },
};

export const shell = {
  command(title: string, unless: string, run: string, notify?: readonly Notify[]): CommandStep {
    return { kind: 'command', title, unless, run, ...(notify ? { notify } : {}) };
  },
};
