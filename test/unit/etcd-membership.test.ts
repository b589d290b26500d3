import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  chooseVoters,
  clientUrl,
  initialClusterOf,
  joinInitialCluster,
  MAX_VOTERS,
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
  clientUrls: [`https://10.0.0.${n}:2379`],
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

test('joinInitialCluster names every member, the joiner by its own name', () => {
  const m = [member(1), member(2), member(4, '')];
  assert.is(
    joinInitialCluster(m, d(4)),
    's1=https://10.0.0.1:2380,s2=https://10.0.0.2:2380,s4=https://10.0.0.4:2380',
  );
});

const kinds = (r: ReturnType<typeof planMembership>) =>
  r.ok ? [...r.plan.roles.entries()].map(([n, role]) => `${n}:${role.kind}`).join(' ') : r.reason;
const range = (a: number, b: number) => Array.from({ length: b - a + 1 }, (_, i) => a + i);

test('fresh servers started together: one static bootstrap of all of them', () => {
  const r = planMembership([d(1), d(2), d(3)], [obs(1), obs(2), obs(3)], {
    startTogether: new Set(['s1', 's2', 's3']),
  });
  assert.is(kinds(r), 's1:bootstrap s2:bootstrap s3:bootstrap');
  assert.is(r.ok && r.plan.initialCluster, initialClusterOf([d(1), d(2), d(3)]));
});

test('fresh servers in separate groups: the first alone, then joins (no quorum wait)', () => {
  const r = planMembership([d(1), d(2), d(3)], [obs(1), obs(2), obs(3)], {
    startTogether: new Set(['s1']),
  });
  assert.is(kinds(r), 's1:bootstrap s2:join s3:join');
  assert.is(r.ok && r.plan.initialCluster, initialClusterOf([d(1)]));
});

test('more than 5 fresh servers: 5 voters, the others proxies', () => {
  const all = range(1, 7);
  const r = planMembership(
    all.map(d),
    all.map((n) => obs(n)),
    {
      startTogether: new Set(all.map((n) => `s${n}`)),
    },
  );
  assert.is(
    kinds(r),
    's1:bootstrap s2:bootstrap s3:bootstrap s4:bootstrap s5:bootstrap s6:proxy s7:proxy',
  );
  assert.equal(r.ok && r.plan.voters.map((v) => v.name), ['s1', 's2', 's3', 's4', 's5']);
  // The proxies are not in the initial cluster.
  assert.not.match(r.ok ? r.plan.initialCluster : '', /s6|s7/);
});

test('a sixth server added to 5 members becomes a proxy; no member is added', () => {
  const m = range(1, 5).map((n) => member(n));
  const r = planMembership(range(1, 6).map(d), [...range(1, 5).map((n) => running(n, m)), obs(6)]);
  assert.is(kinds(r), 's1:member s2:member s3:member s4:member s5:member s6:proxy');
  assert.is(r.ok && r.plan.remove.length, 0);
  assert.is(r.ok && r.plan.voters.length, MAX_VOTERS);
});

test('a voter removed while proxies remain: the first proxy is promoted (joins)', () => {
  const m = range(1, 5).map((n) => member(n));
  // s3 left servers.txt; s6 and s7 were proxies.
  const r = planMembership([1, 2, 4, 5, 6, 7].map(d), [
    ...[1, 2, 4, 5].map((n) => running(n, m)),
    obs(6),
    obs(7),
  ]);
  assert.is(kinds(r), 's1:member s2:member s4:member s5:member s6:join s7:proxy');
  assert.equal(r.ok && r.plan.remove.map((x) => x.name), ['s3']);
});

test('voters: current members first and never demoted, then servers.txt order', () => {
  const desired = range(1, 8).map(d);
  const voters = chooseVoters(desired, new Set(['10.0.0.7', '10.0.0.8', '10.0.0.2']));
  assert.equal(
    voters.map((v) => v.name),
    ['s1', 's2', 's3', 's7', 's8'],
  );
  assert.is(chooseVoters(range(1, 4).map(d), new Set()).length, 4);
});

test('no leader: proxies may be (re)configured, a server that should vote cannot join', () => {
  const all = range(1, 6);
  const stopped = (n: number) => obs(n, { initialized: n <= 5 });
  assert.is(
    kinds(planMembership(all.map(d), all.map(stopped))),
    's1:member s2:member s3:member s4:member s5:member s6:proxy',
  );
  const r = planMembership(
    range(1, 4).map(d),
    range(1, 4).map((n) => obs(n, { initialized: n <= 3 })),
  );
  assert.ok(!r.ok && /s4 cannot join/.test(r.reason));
});

test('client URLs: TLS on the private address, IPv6 in brackets', () => {
  assert.is(clientUrl('10.0.0.1'), 'https://10.0.0.1:2379');
  assert.is(clientUrl('2001:db8::1'), 'https://[2001:db8::1]:2379');
});

test.run();
