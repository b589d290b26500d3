import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { backupText, parseStatusOutput, unreachableRow } from '../../src/status/probe.ts';
import { allHealthy, statusTable } from '../../src/status/table.ts';

const ME = '3319814642761637952';
const OTHER = '10501334649042878790';

function output(o: {
  leader: string;
  healthz?: string;
  front?: string;
  dead?: boolean;
  db?: string;
}) {
  const fr = {
    subscriptions: [
      {
        key: 'app1.example.test',
        nodes: [
          { name: '10.0.0.1:3101', death_mark: 0 },
          { name: '10.0.0.2:3101', death_mark: o.dead ? 1 : 0 },
        ],
      },
    ],
  };
  return [
    '@@shoestring:hostname',
    's1',
    '@@shoestring:status',
    `{"header":{"member_id":"${ME}"},"leader":"${o.leader}","version":"3.4.23"}`,
    '@@shoestring:members',
    `{"members":[{"ID":"${ME}","name":"s1","peerURLs":["https://10.0.0.1:2380"]},{"ID":"${OTHER}","name":"s2","peerURLs":["https://10.0.0.2:2380"]}]}`,
    '@@shoestring:services',
    'etcd active',
    `apache2 ${o.front === 'apache' ? 'active' : 'inactive'}`,
    `nginx ${o.front === 'nginx' ? 'active' : 'inactive'}`,
    'uwsgi-emperor active',
    'mariadb inactive',
    '@@shoestring:healthz',
    o.healthz ?? '200',
    '@@shoestring:fastrouter',
    JSON.stringify(fr),
    '@@shoestring:emperor',
    JSON.stringify({
      vassals: [
        { id: 'fastrouter.ini', pid: 10 },
        { id: 'app-app1.ini', pid: 11 },
      ],
    }),
    '@@shoestring:network',
    'wg 10.88.0.1 1800000000',
    'peerkey\t1799999990',
    '@@shoestring:db',
    o.db ?? '',
  ].join('\n');
}

test('a healthy leader', () => {
  const r = parseStatusOutput('10.0.0.1', output({ leader: ME, front: 'apache' }));
  assert.is(r.hostname, 's1');
  assert.ok(r.leader);
  assert.is(r.etcd.text, 'leader (2 members)');
  assert.is(r.web.text, 'apache, /healthz 200');
  assert.is(r.fastrouter.text, '1 keys, 2 nodes');
  assert.is(r.vassals.text, '2/2 running');
  assert.is(r.db, undefined);
  assert.ok(allHealthy([r]));
});

test('a follower behind nginx with a failing /healthz and a dead node', () => {
  const r = parseStatusOutput(
    '10.0.0.1',
    output({ leader: OTHER, front: 'nginx', healthz: '503', dead: true }),
  );
  assert.not.ok(r.leader);
  assert.is(r.etcd.text, 'follower (2 members)');
  assert.is(r.web.health, 'bad');
  assert.is(r.fastrouter.text, '1 keys, 1 nodes');
  assert.not.ok(allHealthy([r]));
});

test('no leader anywhere, no front, a galera member', () => {
  const r = parseStatusOutput(
    'x',
    output({
      leader: '0',
      db: 'wsrep_cluster_size\t3\nwsrep_cluster_status\tPrimary\nwsrep_local_state_comment\tSynced',
    }),
  );
  assert.is(r.etcd.health, 'bad');
  assert.is(r.web.text, 'down');
  assert.equal(r.db, { text: 'Synced, 3 in cluster', health: 'ok' });
  const stopped = parseStatusOutput('c', output({ leader: ME, db: 'stopped' }));
  assert.equal(stopped.db, { text: 'stopped', health: 'bad' });
});

test("status: the last backup, from the member's clock", () => {
  assert.is(backupText('1000000 none'), 'no backup yet');
  assert.is(backupText('1000000 999990'), 'last backup 10 s ago');
  assert.is(backupText('1000000 982000'), 'last backup 5 h ago');
  assert.is(backupText(''), undefined);
});

test('two leaders or none is not healthy; the table has a database column only when needed', () => {
  const a = parseStatusOutput('a', output({ leader: ME, front: 'apache' }));
  assert.not.ok(allHealthy([a, a]));
  const lines = statusTable([a, unreachableRow('b', 'unreachable')]);
  assert.is(lines.length, 3);
  assert.match(
    lines[0] ?? '',
    /^server\s+host\s+ssh\s+private network\s+etcd\s+web\s+fastrouter\s+vassals$/,
  );
  assert.match(lines[2] ?? '', /^b\s+-\s+unreachable/);
  const withDb = statusTable([parseStatusOutput('c', output({ leader: ME, db: 'error' }))]);
  assert.match(withDb[0] ?? '', /database$/);
});

test('garbage output gives an unhealthy row, not an exception', () => {
  const r = parseStatusOutput('x', 'nothing useful');
  assert.is(r.etcd.text, 'down');
  assert.is(r.fastrouter.text, 'down');
});

test('a proxy server: its own etcd cell, never the leader', () => {
  const proxied = output({ leader: ME, front: 'apache' })
    .replace('@@shoestring:status\n', '@@shoestring:role\nproxy\n@@shoestring:status\n')
    .replace(
      /@@shoestring:status\n.*\n/,
      `@@shoestring:status\n[{"Endpoint":"https://127.0.0.1:2379","Status":{"header":{"member_id":${ME}},"leader":${ME}}}]\n`,
    )
    .replace('etcd active', 'etcd inactive\nshoestring-etcd-proxy active');
  const r = parseStatusOutput('10.0.0.6', proxied);
  assert.is(r.etcd.text, 'proxy (2 members)');
  assert.is(r.etcd.health, 'ok');
  assert.not.ok(r.leader);
  const down = parseStatusOutput(
    '10.0.0.6',
    proxied.replace('shoestring-etcd-proxy active', 'shoestring-etcd-proxy failed'),
  );
  assert.is(down.etcd.health, 'bad');
  assert.is(down.etcd.text, 'proxy down');
});

test.run();
