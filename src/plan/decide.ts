/**
 * Pure planning: given a step and the fact probed for it, the change to make, or null when
 * the server already matches. The change carries the shell that applies it.
 */
import { createHash } from 'node:crypto';
import { dirname } from 'node:path';
import { q } from '../ssh/quote.ts';
import type { Fact } from './facts.ts';
import { normMode } from './facts.ts';
import { restartMarker, type Notify, type Step } from './steps.ts';

export interface Change {
  readonly step: Step;
  /** One line, e.g. "install etcd-server etcd-client" or "create /etc/default/etcd". */
  readonly summary: string;
  readonly script: string;
  readonly notify: readonly Notify[];
  /** A file step that writes new content (not only owner/mode): dry runs show its diff. */
  readonly writesContent?: boolean;
}

export function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** Printed on stderr by a guarded command whose re-check passed when applying. */
export const SKIPPED_MARK = '@@shoestring-skipped ';

/** A heredoc delimiter that cannot occur in base64 text. */
const EOF_MARK = 'SHOESTRING_EOF';

function writeFileScript(
  path: string,
  content: string,
  mode: string,
  owner: string,
  group: string,
): string {
  const b64 = Buffer.from(content, 'utf8')
    .toString('base64')
    .replace(/(.{76})/g, '$1\n');
  return [
    `mkdir -p ${q(dirname(path))}`,
    `tmp=$(mktemp ${q(`${path}.shoestring.XXXXXX`)})`,
    `base64 -d > "$tmp" <<'${EOF_MARK}'`,
    b64,
    EOF_MARK,
    `chown ${q(`${owner}:${group}`)} "$tmp"`,
    `chmod ${q(mode)} "$tmp"`,
    `mv -f "$tmp" ${q(path)}`,
  ].join('\n');
}

export function decide(step: Step, fact: Fact): Change | null {
  switch (step.kind) {
    case 'packages': {
      if (fact.kind !== 'packages') break;
      const missing = step.names.filter((n) => !fact.installed.has(n));
      if (missing.length === 0) return null;
      // A stalled mirror or proxy fails within seconds and is retried, instead of hanging.
      const net = '-o Acquire::http::Timeout=20 -o Acquire::Retries=3';
      const install = `apt-get install ${net} -y -q --no-install-recommends -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold ${missing.map(q).join(' ')}`;
      // Update the package lists only when the install cannot find something. An update that
      // hangs (seen behind a caching proxy racing on the same index file) is cut off and tried
      // again: apt's own timeout does not cover every stall.
      const update = `updated=0; for try in 1 2 3; do if timeout 90 apt-get update ${net} -q >>/tmp/shoestring-apt.log 2>&1; then updated=1; break; fi; sleep 2; done; [ "$updated" = 1 ]`;
      const body = `${install} >/tmp/shoestring-apt.log 2>&1 || { ${update} && ${install} >>/tmp/shoestring-apt.log 2>&1; } || { tail -n 20 /tmp/shoestring-apt.log >&2; exit 1; }`;
      const script = step.noStart
        ? [
            // Keep services from starting on install; restore any policy the host had.
            `if [ -e /usr/sbin/policy-rc.d ]; then had_policy=1; mv /usr/sbin/policy-rc.d /usr/sbin/policy-rc.d.shoestring; else had_policy=0; fi`,
            `printf '#!/bin/sh\\nexit 101\\n' > /usr/sbin/policy-rc.d; chmod 755 /usr/sbin/policy-rc.d`,
            `restore_policy() { rm -f /usr/sbin/policy-rc.d; if [ "$had_policy" = 1 ]; then mv /usr/sbin/policy-rc.d.shoestring /usr/sbin/policy-rc.d; fi; }`,
            `trap restore_policy EXIT`,
            body,
            `restore_policy; trap - EXIT`,
          ].join('\n')
        : body;
      return { step, summary: `install ${missing.join(' ')}`, script, notify: [] };
    }
    case 'file': {
      if (fact.kind !== 'file') break;
      const mode = normMode(step.mode);
      if (!fact.exists) {
        return {
          step,
          summary: `create ${step.path} (${mode} ${step.owner}:${step.group})`,
          writesContent: true,
          script: writeFileScript(step.path, step.content, mode, step.owner, step.group),
          notify: step.notify ?? [],
        };
      }
      if (fact.sha256 !== sha256(step.content)) {
        return {
          step,
          summary: `update ${step.path}`,
          writesContent: true,
          script: writeFileScript(step.path, step.content, mode, step.owner, step.group),
          notify: step.notify ?? [],
        };
      }
      const fixes: string[] = [];
      const parts: string[] = [];
      if (fact.owner !== step.owner || fact.group !== step.group) {
        fixes.push(`chown ${q(`${step.owner}:${step.group}`)} ${q(step.path)}`);
        parts.push(`owner ${fact.owner}:${fact.group} → ${step.owner}:${step.group}`);
      }
      if (fact.mode !== mode) {
        fixes.push(`chmod ${q(mode)} ${q(step.path)}`);
        parts.push(`mode ${fact.mode} → ${mode}`);
      }
      if (fixes.length === 0) return null;
      return {
        step,
        summary: `fix ${step.path}: ${parts.join(', ')}`,
        script: fixes.join('\n'),
        notify: step.notify ?? [],
      };
    }
    case 'directory': {
      if (fact.kind !== 'directory') break;
      const mode = normMode(step.mode);
      const ensure = `mkdir -p ${q(step.path)} && chown ${q(`${step.owner}:${step.group}`)} ${q(step.path)} && chmod ${q(mode)} ${q(step.path)}`;
      if (!fact.exists)
        return { step, summary: `create directory ${step.path}`, script: ensure, notify: [] };
      if (!fact.isDirectory) {
        return {
          step,
          summary: `${step.path} exists but is not a directory`,
          script: `echo ${q(`${step.path} exists and is not a directory; move it away`)} >&2; exit 1`,
          notify: [],
        };
      }
      if (fact.mode === mode && fact.owner === step.owner && fact.group === step.group) return null;
      return {
        step,
        summary: `fix directory ${step.path} (${fact.mode} ${fact.owner}:${fact.group} → ${mode} ${step.owner}:${step.group})`,
        script: ensure,
        notify: [],
      };
    }
    case 'service': {
      if (fact.kind !== 'service') break;
      const cmds: string[] = [];
      const what: string[] = [];
      const enabled =
        fact.enabled === 'enabled' ||
        fact.enabled === 'enabled-runtime' ||
        fact.enabled === 'static' ||
        fact.enabled === 'generated' ||
        fact.enabled === 'alias';
      const active =
        fact.active === 'active' || fact.active === 'reloading' || fact.active === 'activating';
      if (step.enabled && !enabled) {
        cmds.push(`systemctl enable ${q(step.name)} >/dev/null 2>&1`);
        what.push('enable');
      }
      if (!step.enabled && enabled && fact.enabled !== 'static') {
        cmds.push(`systemctl disable ${q(step.name)} >/dev/null 2>&1`);
        what.push('disable');
      }
      if (step.running && !active) {
        cmds.push(`systemctl start ${q(step.name)}`);
        what.push('start');
      }
      if (!step.running && active) {
        cmds.push(`systemctl stop ${q(step.name)}`);
        what.push('stop');
      }
      if (cmds.length === 0) return null;
      return {
        step,
        summary: `${what.join(' + ')} ${step.name}`,
        script: cmds.join('\n'),
        notify: [],
      };
    }
    case 'command': {
      if (fact.kind !== 'command') break;
      if (fact.done) return null;
      // Re-check when applying: an earlier step of the phase may have done the work.
      return {
        step,
        summary: `run: ${step.title}`,
        // When the re-check passes, say so: the runner then counts the step as unchanged.
        // (shoestring_skipped tells applyScript not to notify for this change.)
        script: `if ! ( ${step.unless} ) >/dev/null 2>&1; then\n${step.run}\nelse\necho ${q(`${SKIPPED_MARK}${step.title}`)} >&2\nshoestring_skipped=1\nfi`,
        notify: step.notify ?? [],
      };
    }
  }
  throw new Error(`fact of kind ${fact.kind} does not belong to step ${step.title}`);
}

/**
 * Services to restart or reload after the changes, each once (restart wins over reload). A
 * service that a later change of the same apply starts already runs the new configuration:
 * it is not restarted right after its start.
 */
export function notifications(changes: readonly Change[]): Notify[] {
  const byService = new Map<string, Notify>();
  const startedAfter = (service: string, i: number) =>
    changes.some(
      (c, j) =>
        j > i &&
        c.step.kind === 'service' &&
        c.step.name === service &&
        c.step.running &&
        /\bstart\b/.test(c.summary),
    );
  const notes = changes.flatMap((c, i) => c.notify.filter((n) => !startedAfter(n.service, i)));
  for (const n of notes) {
    const prev = byService.get(n.service);
    if (!prev || (prev.action === 'reload' && n.action === 'restart')) byService.set(n.service, n);
  }
  return [...byService.values()];
}

/** A shell variable name set when a change that notifies `service` really ran. */
const notifyVar = (service: string) => `shoestring_notify_${service.replace(/[^A-Za-z0-9]/g, '_')}`;

/**
 * The script that applies a list of changes, then notifies services. Each change is titled. A
 * service is notified only when a change that asks for it really ran: a guarded command whose
 * re-check passed at apply time (an earlier change did its work) notifies nobody.
 */
export function applyScript(changes: readonly Change[]): string {
  const parts = changes.map((c) => {
    const head = `echo ${q(`@@shoestring-apply ${c.step.title}`)} >&2\n${c.script}`;
    if (c.notify.length === 0) return head;
    const flags = c.notify.map((n) => `${notifyVar(n.service)}=1`).join('; ');
    return `shoestring_skipped=0\n${head}\nif [ "$shoestring_skipped" = 0 ]; then ${flags}; fi`;
  });
  for (const n of notifications(changes)) {
    const check = n.check ? `${n.check}\n` : '';
    const act =
      n.action === 'restart-later'
        ? `install -d -m 0755 /run/shoestring && touch ${q(restartMarker(n.service))}`
        : `systemctl ${n.action === 'reload' ? 'reload-or-restart' : 'restart'} ${q(n.service)}`;
    parts.push(
      `if [ -n "\${${notifyVar(n.service)}:-}" ]; then\necho ${q(`@@shoestring-apply ${n.action} ${n.service}`)} >&2\n${check}${act}\nfi`,
    );
  }
  return parts.join('\n');
}
