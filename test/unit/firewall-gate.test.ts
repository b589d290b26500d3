// The firewall's confirm gate as the runner polls it: over new connections, through connection
// failures, passing on confirmed, stopping at once on rolled-back.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { confirmGate } from '../../src/components/firewall.ts';
import { ConnectError, GateError } from '../../src/errors.ts';
import { Runner } from '../../src/plan/runner.ts';
import type { Target, Transport } from '../../src/ssh/transport.ts';
import { hostContext, THREE } from './fixtures/cluster.ts';

const ctx = hostContext(THREE);
const host = ctx.self.target;

/** Answers the polls in turn: a string is confirm's output, null a failed new connection. */
function runnerAnswering(answers: readonly (string | null)[]) {
  const calls: { script: string; fresh: unknown }[] = [];
  const transport = {
    async run(target: Target, script: string, options: { fresh?: unknown }) {
      calls.push({ script, fresh: options.fresh });
      const answer = answers[Math.min(calls.length, answers.length) - 1];
      if (answer === null || answer === undefined)
        throw new ConnectError(target.name, 'timeout', 'Connection timed out');
      return { stdout: answer, stderr: '', code: answer === 'confirmed\n' ? 0 : 1 };
    },
  };
  const runner = new Runner(transport as unknown as Transport, {
    dryRun: false,
    reporter: { event: () => {}, close: () => {} },
    pollMs: 1,
  });
  return { runner, calls };
}

test('polled over new connections through connection failures until confirmed', async () => {
  const { runner, calls } = runnerAnswering([null, null, 'confirmed\n']);
  await runner.gate(host, confirmGate(ctx));
  assert.is(calls.length, 3);
  assert.ok(calls.every((c) => c.script === '/usr/local/sbin/shoestring-firewall confirm'));
  assert.ok(calls.every((c) => JSON.stringify(c.fresh) === '{"connectTimeout":4}'));
});

test('rolled-back ends the gate at once, long before its budget', async () => {
  const started = Date.now();
  const { runner, calls } = runnerAnswering([
    null,
    null,
    'rolled-back 2026-01-02T03:04:05Z: not confirmed within 20 s (no new SSH connection could be made); the rejected ruleset (abc) is in /var/lib/shoestring/firewall/rejected.nft\n',
    'ok\n',
  ]);
  const err = await runner.gate(host, confirmGate(ctx)).catch((e: unknown) => e);
  assert.instance(err, GateError);
  assert.match(
    (err as GateError).message,
    /^root@203\.0\.113\.10: the new firewall ruleset was rolled back: no new SSH connection/,
  );
  assert.match((err as GateError).hint ?? '', /FIREWALL_RULES and SSH_ALLOW_FROM/);
  assert.is(calls.length, 3, 'no poll after rolled-back');
  assert.ok(Date.now() - started < 5000);
});

test.run();
