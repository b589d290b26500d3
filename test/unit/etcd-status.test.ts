import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { answerFromOutput } from '../../src/leader/ask.ts';
import {
  bigIntFields,
  hexId,
  leaderAddress,
  leaderVerdict,
  parseEtcdctlStatus,
  parseMembers,
  parseStatus,
  verdictExitCode,
} from '../../src/etcd/status.ts';

// Above 2^53: JSON.parse alone would round these.
const ME = '3319814642761637952';
const OTHER = '10501334649042878790';

const gateway = (leader: string) =>
  `{"header":{"cluster_id":"14841639068965178418","member_id":"${ME}","revision":"5","raft_term":"2"},"version":"3.4.23","dbSize":"20480","leader":"${leader}","raftIndex":"8","raftTerm":"2","raftAppliedIndex":"8","dbSizeInUse":"20480"}`;

test('gateway status (strings): leader and member IDs kept exact', () => {
  const s = parseStatus(gateway(ME));
  assert.is(s?.memberId, ME);
  assert.is(s?.leaderId, ME);
  assert.is(leaderVerdict(s).state, 'leader');
});

test('etcdctl -w json (numbers above 2^53) keeps the IDs exact', () => {
  const text = `[{"Endpoint":"https://127.0.0.1:2379","Status":{"header":{"cluster_id":14841639068965178418,"member_id":${ME},"revision":5,"raft_term":2},"version":"3.4.23","dbSize":20480,"leader":${OTHER},"raftIndex":8,"raftTerm":2,"raftAppliedIndex":8,"dbSizeInUse":20480}}]`;
  // The trap: JSON.parse rounds the ID.
  const naive = (JSON.parse(text) as { Status: { header: { member_id: number } } }[])[0];
  assert.is.not(String(naive?.Status.header.member_id), ME);
  const [s] = parseEtcdctlStatus(text);
  assert.is(s?.memberId, ME);
  assert.is(s?.leaderId, OTHER);
  const v = leaderVerdict(s);
  assert.is(v.state, 'follower');
  assert.is(verdictExitCode(v), 1);
});

test('bigIntFields leaves short numbers and strings alone', () => {
  assert.is(bigIntFields('{"a":12,"b":"x"}'), '{"a":12,"b":"x"}');
  assert.is(bigIntFields('{"a":12345678901234567890}'), '{"a":"12345678901234567890"}');
});

test('no leader or no answer: cannot tell (exit 2)', () => {
  assert.is(verdictExitCode(leaderVerdict(parseStatus(gateway('0')))), 2);
  assert.is(verdictExitCode(leaderVerdict(parseStatus(''))), 2);
  assert.is(verdictExitCode(leaderVerdict(parseStatus('{"error":"x"}'))), 2);
  assert.is(verdictExitCode(leaderVerdict(parseStatus(gateway(ME)))), 0);
});

test('member list and the leader address', () => {
  const list = `{"header":{},"members":[{"ID":"${ME}","name":"s1","peerURLs":["https://172.30.0.11:2380"],"clientURLs":["https://172.30.0.11:2379"]},{"ID":"${OTHER}","name":"s2","peerURLs":["https://172.30.0.12:2380"],"clientURLs":["https://172.30.0.12:2379"]},{"ID":"42","peerURLs":["https://172.30.0.14:2380"]}]}`;
  const members = parseMembers(list);
  assert.is(members?.length, 3);
  assert.is(members?.[2]?.name, '');
  const v = leaderVerdict(parseStatus(gateway(OTHER)));
  assert.is(leaderAddress(v, members), '172.30.0.12');
  assert.is(leaderAddress(leaderVerdict(parseStatus(gateway(ME))), members), '172.30.0.11');
  assert.is(parseMembers('not json'), undefined);
});

test('hexId converts exactly', () => {
  assert.is(hexId(ME), BigInt(ME).toString(16));
  assert.is(hexId('255'), 'ff');
});

const etcdctlStatus = (member: string, leader: string) =>
  `[{"Endpoint":"https://127.0.0.1:2379","Status":{"header":{"cluster_id":14841639068965178418,"member_id":${member},"revision":5,"raft_term":2},"version":"3.4.23","leader":${leader},"raftTerm":2}}]`;
const etcdctlMembers = `{"header":{"cluster_id":14841639068965178418},"members":[{"ID":${ME},"name":"s1","peerURLs":["https://172.30.0.11:2380"],"clientURLs":["https://172.30.0.11:2379"]},{"ID":${OTHER},"name":"s2","peerURLs":["https://172.30.0.12:2380"],"clientURLs":["https://172.30.0.12:2379"]}]}`;

test('a member answers for itself: leader or follower, and the leader address', () => {
  const out = (leader: string) =>
    `@@shoestring:role\nmember\n@@shoestring:status\n${gateway(leader)}\n@@shoestring:members\n${etcdctlMembers}\n`;
  const a = answerFromOutput(out(ME));
  assert.is(a.verdict.state, 'leader');
  assert.is(a.proxy, false);
  assert.is(a.leader, '172.30.0.11');
  assert.is(answerFromOutput(out(OTHER)).leader, '172.30.0.12');
});

test('a proxy is never the leader, even when its proxy reached the leader', () => {
  // Through the proxy, the status is the leader's own (member_id = leader).
  const out = `@@shoestring:role\nproxy\n@@shoestring:status\n${etcdctlStatus(OTHER, OTHER)}\n@@shoestring:members\n${etcdctlMembers}\n`;
  const a = answerFromOutput(out);
  assert.is(a.proxy, true);
  assert.is(a.verdict.state, 'follower');
  assert.is(verdictExitCode(a.verdict), 1);
  assert.is(a.leader, '172.30.0.12');
});

test('a proxy that reaches no voter, or a cluster without leader: cannot tell', () => {
  const none = answerFromOutput(
    '@@shoestring:role\nproxy\n@@shoestring:status\n\n@@shoestring:members\n\n',
  );
  assert.is(verdictExitCode(none.verdict), 2);
  assert.match(none.verdict.state === 'unknown' ? none.verdict.reason : '', /proxy/);
  const noLeader = answerFromOutput(
    `@@shoestring:role\nproxy\n@@shoestring:status\n${etcdctlStatus(ME, '0')}\n`,
  );
  assert.is(verdictExitCode(noLeader.verdict), 2);
});

test.run();
