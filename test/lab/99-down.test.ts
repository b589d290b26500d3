/** `down` leaves nothing behind: no nspawn, no lab process, no overlay mount, no netns, no .lab/. */
import { existsSync, readdirSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { down, up } from '../../src/lab/lab.ts';
import { mountsUnder } from '../../src/lab/mounts.ts';
import { labNetns, labVeths } from '../../src/lab/network.ts';
import { PREFIX, labDir } from '../../src/lab/paths.ts';
import { cmdline, isAlive, processesInNetns, processesMentioning } from '../../src/lab/procs.ts';
import { loadState } from '../../src/lab/state.ts';
import { log } from './helpers.ts';

test('down removes everything the lab made', async () => {
  if (!loadState()) await up(2, {}, log); // nothing left by earlier suites: make a lab to remove
  assert.ok(processesMentioning(labDir).length > 0, 'precondition: lab processes exist');
  assert.ok(mountsUnder(labDir).length > 0, 'precondition: overlay mounts exist');
  assert.ok(labNetns().length > 0, 'precondition: lab namespaces exist');
  const before = [
    ...processesMentioning(labDir),
    ...labNetns().flatMap((ns) => processesInNetns(`/run/netns/${ns}`)),
  ];
  assert.ok(
    before.some((p) => cmdline(p)?.[0]?.endsWith('systemd-nspawn')),
    'precondition: nspawn runs',
  );
  await down(log);
  assert.equal(
    before.filter((p) => isAlive(p)),
    [],
    'no nspawn, container or daemon process left',
  );
  assert.equal(processesMentioning(labDir), [], 'no process of the lab');
  assert.equal(mountsUnder(labDir), [], 'no mount under the lab dir');
  assert.equal(labNetns(), [], 'no lab netns');
  assert.equal(labVeths(), [], 'no lab veth');
  assert.not.ok(existsSync(labDir), '.lab/ removed');
  const propagate = existsSync('/run/systemd/nspawn/propagate')
    ? readdirSync('/run/systemd/nspawn/propagate').filter((n) => n.startsWith(`${PREFIX}-`))
    : [];
  assert.equal(propagate, [], 'no nspawn leftovers under /run');
});

test('down twice is fine (nothing to do)', async () => {
  await down(log);
  assert.not.ok(existsSync(labDir));
});

test.run();
