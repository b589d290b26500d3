// The etcd gate's early failure: a unit that nothing will start again ends the wait at once.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { unitHopeless } from '../../src/components/etcd.ts';

test('a masked unit (also for this boot only) is hopeless, and the message says how to mend it', () => {
  assert.is(
    unitHopeless('etcd masked-runtime inactive\n'),
    'etcd is masked: nothing will start it (systemctl unmask etcd)',
  );
  assert.is(
    unitHopeless('shoestring-etcd-proxy masked inactive'),
    'shoestring-etcd-proxy is masked: nothing will start it (systemctl unmask shoestring-etcd-proxy)',
  );
});

test('a failed unit is hopeless; one starting, restarting or stopped is not', () => {
  assert.is(unitHopeless('etcd enabled failed'), 'etcd failed and systemd will not start it again');
  for (const state of ['activating', 'active', 'inactive', 'deactivating', 'reloading'])
    assert.is(unitHopeless(`etcd enabled ${state}`), undefined, state);
  // No answer (an old server, a probe cut short): keep waiting.
  assert.is(unitHopeless(''), undefined);
});
test.run();
