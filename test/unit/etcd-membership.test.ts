import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  initialClusterOf,
  joinInitialCluster,
  planMembership,
  quorum,
  type Observed,
} from '../../src/etcd/membership.ts';
import type { Member } from '../../src/etcd/status.ts';

const d = (n: number) => ({ name: `s${n}`, address: `10.0.0.${n}` });
const member = (n: number, name = `s${n}`): Member => ({
  id: String(1000 + n),
  name,
  peerUrls: [`https://10.0.0.${n}:2380`],
  clientUrls: ['http://127.0.0.1:2379'],
  isLearner: false,
});
const obs = (n: number, o: Partial<Observed> = {}): Observed => ({
  ...d(n),
  initialized: false,
  members: undefined,
  healthy: false,
  ...o,
});
const running = (n: number, members: Member[]) =>
  obs(n, { initialized: true, members, healthy: true });

test('quorum', () => {
  assert.equal([1, 2, 3, 4, 5].map(quorum), [1, 2, 2, 3, 3]);
});

test('fresh servers: the first starts a new cluster alone, the others join it', () => {
  const r = planMembership([d(1), d(2), d(3)], [obs(1), obs(2), obs(3)]);
  assert.ok(r.ok);
  if (!r.ok) return;
  assert.equal(
    [...r.plan.roles.values()],
    [{ kind: 'bootstrap' }, { kind: 'join', added: false }, { kind: 'join', added: false }],
  );
  assert.is(r.plan.initialCluster, initialClusterOf([d(1)]));
  assert.is(r.plan.initialCluster, 's1=https://10.0.0.1:2380');
});

test('a converged cluster: everyone is a member, nothing to remove', () => {
  const m = [member(1), member(2), member(3)];
  const r = planMembership([d(1), d(2), d(3)], [running(1, m), running(2, m), running(3, m)]);
  assert.ok(r.ok && [...r.plan.roles.values()].every((x) => x.kind === 'member'));
  assert.ok(r.ok && r.plan.remove.length === 0);
});

test('a fourth server joins (member add needed)', () => {
  const m = [member(1), member(2), member(3)];
  const r = planMembership(
    [d(1), d(2), d(3), d(4)],
    [running(1, m), running(2, m), running(3, m), obs(4)],
  );
  assert.ok(r.ok);
  if (!r.ok) return;
  assert.equal(r.plan.roles.get('s4'), { kind: 'join', added: false });
  assert.equal(r.plan.roles.get('s1'), { kind: 'member' });
});

test('a member added earlier but never started joins without a second add', () => {
  const m = [member(1), member(2), member(3), member(4, '')];
  const r = planMembership(
    [d(1), d(2), d(3), d(4)],
    [running(1, m), running(2, m), running(3, m), obs(4)],
  );
  assert.ok(r.ok && r.plan.roles.get('s4')?.kind === 'join');
  assert.equal(r.ok && r.plan.roles.get('s4'), { kind: 'join', added: true });
});

test('a server removed from the list is member-removed', () => {
  const m = [member(1), member(2), member(3), member(4)];
  const r = planMembership([d(1), d(2), d(3)], [running(1, m), running(2, m), running(3, m)]);
  assert.ok(r.ok);
  if (!r.ok) return;
  assert.equal(
    r.plan.remove.map((x) => x.name),
    ['s4'],
  );
});

test('refuses a removal that would lose quorum', () => {
  // 3 members, s3 leaves, and of the remaining two only s1 is healthy: 1 < quorum(2) = 2.
  const m = [member(1), member(2), member(3)];
  const r = planMembership([d(1), d(2)], [running(1, m), obs(2, { initialized: true })]);
  assert.not.ok(r.ok);
  assert.match(!r.ok ? r.reason : '', /quorum/);
});

test('refuses a join when too few members are healthy', () => {
  // 3 members, only one healthy: adding a 4th needs 3 votes.
  const m = [member(1), member(2), member(3)];
  const r = planMembership(
    [d(1), d(2), d(3), d(4)],
    [running(1, m), obs(2, { initialized: true }), obs(3, { initialized: true }), obs(4)],
  );
  assert.not.ok(r.ok);
  assert.match(!r.ok ? r.reason : '', /adding s4/);
});

test('refuses replacing every member at once', () => {
  const m = [member(1), member(2), member(3)];
  const r = planMembership([d(7), d(8), d(9)], [running(7, m), obs(8), obs(9)]);
  assert.not.ok(r.ok);
});

test('refuses to join while no member answers with a leader', () => {
  const r = planMembership([d(1), d(2)], [obs(1, { initialized: true }), obs(2)]);
  assert.not.ok(r.ok);
  assert.match(!r.ok ? r.reason : '', /s2 cannot join/);
});

test('more than 5 servers: refused with the reason', () => {
  const six = [1, 2, 3, 4, 5, 6].map(d);
  const r = planMembership(
    six,
    six.map((x, i) => obs(i + 1, x)),
  );
  assert.not.ok(r.ok);
  assert.match(!r.ok ? r.reason : '', /3 or 5 voting members/);
});

test('joinInitialCluster names every member, the joiner by its own name', () => {
  const m = [member(1), member(2), member(4, '')];
  assert.is(
    joinInitialCluster(m, d(4)),
    's1=https://10.0.0.1:2380,s2=https://10.0.0.2:2380,s4=https://10.0.0.4:2380',
  );
});

test.run();
