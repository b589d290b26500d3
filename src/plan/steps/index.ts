/**
 * The step vocabulary: every kind, its builders, and the one dispatch from a step to its kind's
 * probe, parser and decide. Components import builders from here.
 */
import { absent, absentKind, type AbsentStep } from './absent.ts';
import {
  apache,
  apacheModulesKind,
  apacheSiteKind,
  type ApacheModulesStep,
  type ApacheSiteStep,
} from './apache.ts';
import { commandKind, shell, type CommandStep } from './command.ts';
import { daemonReload, daemonReloadKind, type DaemonReloadStep } from './daemon-reload.ts';
import { directory, directoryKind, type DirectoryStep } from './directory.ts';
import { file, fileKind, type FileStep } from './file.ts';
import { masked, maskedKind, type MaskedStep } from './masked.ts';
import { nginx, nginxSiteKind, type NginxSiteStep } from './nginx.ts';
import { apt, packagesKind, type PackagesStep } from './packages.ts';
import { service, serviceKind, type ServiceStep } from './service.ts';
import { symlink, symlinkKind, type SymlinkStep } from './symlink.ts';
import type { Change, StepKind } from './types.ts';
import { unitAbsent, unitAbsentKind, type UnitAbsentStep } from './unit-absent.ts';

export type Step =
  | PackagesStep
  | FileStep
  | DirectoryStep
  | AbsentStep
  | SymlinkStep
  | ServiceStep
  | MaskedStep
  | DaemonReloadStep
  | UnitAbsentStep
  | ApacheModulesStep
  | ApacheSiteStep
  | NginxSiteStep
  | CommandStep;

type KindTable = { readonly [K in Step['kind']]: StepKind<Extract<Step, { kind: K }>, unknown> };

/** Each kind's fact type is its own; the table forgets it (a fact only ever meets its step). */
const KINDS: KindTable = {
  packages: packagesKind as StepKind<PackagesStep, unknown>,
  file: fileKind as StepKind<FileStep, unknown>,
  directory: directoryKind as StepKind<DirectoryStep, unknown>,
  absent: absentKind as StepKind<AbsentStep, unknown>,
  symlink: symlinkKind as StepKind<SymlinkStep, unknown>,
  service: serviceKind as StepKind<ServiceStep, unknown>,
  masked: maskedKind as StepKind<MaskedStep, unknown>,
  'daemon-reload': daemonReloadKind as StepKind<DaemonReloadStep, unknown>,
  'unit-absent': unitAbsentKind as StepKind<UnitAbsentStep, unknown>,
  'apache-modules': apacheModulesKind as StepKind<ApacheModulesStep, unknown>,
  'apache-site': apacheSiteKind as StepKind<ApacheSiteStep, unknown>,
  'nginx-site': nginxSiteKind as StepKind<NginxSiteStep, unknown>,
  command: commandKind as StepKind<CommandStep, unknown>,
};

function kindOf<S extends Step>(step: S): StepKind<S, unknown> {
  return KINDS[step.kind] as unknown as StepKind<S, unknown>;
}

export function probeStep(step: Step): string {
  return kindOf(step).probe(step);
}

export function parseStep(step: Step, lines: readonly string[]): unknown {
  return kindOf(step).parse(step, lines);
}

/** The change a step needs, given its fact and the changes before it in the same phase. */
export function decideStep(
  step: Step,
  fact: unknown,
  earlier: readonly Change[] = [],
): Change | null {
  const kind = kindOf(step);
  return kind.decide(step, fact) ?? kind.follow?.(step, earlier) ?? null;
}

/** The systemd units a step's probe asks about (loaded in one call by the probe script). */
export function unitsOf(step: Step): readonly string[] {
  switch (step.kind) {
    case 'service':
      return [step.name];
    case 'masked':
    case 'unit-absent':
      return [step.unit];
    case 'daemon-reload':
      return step.units.map((u) => u.unit);
    default:
      return [];
  }
}

/** The services a step may notify (its pending markers are probed with it). */
export function notifiesOf(step: Step): readonly string[] {
  return 'notify' in step && step.notify ? step.notify.map((n) => n.service) : [];
}

export const files = { file, directory, absent, symlink };
export const systemd = { service, masked, daemonReload, unitAbsent };
export { apache, apt, nginx, shell };
export type { Change, Notify } from './types.ts';
export type {
  AbsentStep,
  ApacheModulesStep,
  ApacheSiteStep,
  CommandStep,
  DaemonReloadStep,
  DirectoryStep,
  FileStep,
  MaskedStep,
  NginxSiteStep,
  PackagesStep,
  ServiceStep,
  SymlinkStep,
  UnitAbsentStep,
};
