/**
 * The HA web stack on 3 lab servers with WEB_SERVER=apache (the default): apps through every
 * front, the full mesh, etcd and its leader, /healthz, 0 changes on a second run, and a killed
 * server leaves the other two serving both apps within 10 s.
 */
import * as assert from 'uvu/assert';
import { runCommand } from './provision-helpers.ts';
import { DOMAIN, get, sleep } from './stack-checks.ts';
import { stackSuite, within } from './stack-suite.ts';

const s = stackSuite('stack (apache)', () => '.lab/.env', 'apache');

s('lab kill of one server: the other two serve both apps within 10 s', async (ctx) => {
  const [a, b, dead] = ctx.addresses as [string, string, string];
  const deadName = ctx.names.get(dead) ?? '';
  const kill = runCommand('scripts/lab.ts', ['kill', deadName]);
  assert.is(kill.status, 0, kill.stdout + kill.stderr);
  try {
    // Healthy = a burst through both remaining fronts, both apps, all 200 and none from the dead one.
    const healthy = async () => {
      for (const front of [a, b])
        for (const app of ['app1', 'app2']) {
          for (let i = 0; i < 3; i++) {
            const r = await get(front, `${app}.${DOMAIN()}`);
            if (r.code !== 200 || r.servedBy === deadName) return false;
          }
        }
      return true;
    };
    const seconds = await within(10_000, healthy);
    assert.ok(seconds <= 10, 'not serving within 10 s');
    // And it stays so.
    await sleep(2000);
    assert.ok(await healthy(), 'stopped serving again');
  } finally {
    runCommand('scripts/lab.ts', ['start', deadName]);
  }
  // Back in the mesh after its boot (its vassals announce themselves again).
  const back = await within(90_000, async () => (await get(dead, `app1.${DOMAIN()}`)).code === 200);
  assert.ok(back < Infinity, `${deadName} did not come back`);
});

s.run();
