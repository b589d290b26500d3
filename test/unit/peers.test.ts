import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KEYS } from '../../src/agent/keys.ts';
import {
  PER_SERVER_PREFIXES,
  peers,
  recordScript,
  staleRecords,
} from '../../src/components/peers.ts';
import { staticSteps } from '../../src/plan/phase.ts';
import { hostContext, THREE } from './fixtures/cluster.ts';

/** Runs `script` with a fake etcdctl on PATH that lists `keys`. */
function withFakeEtcdctl(script: string, keys: readonly string[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'peers-'));
  try {
    writeFileSync(
      join(dir, 'etcdctl'),
      `#!/bin/sh\nprintf '%s\\n' ${keys.map((k) => `'${k}'`).join(' ')}\n`,
    );
    chmodSync(join(dir, 'etcdctl'), 0o755);
    const r = spawnSync('bash', ['-c', script], {
      env: { PATH: `${dir}:/usr/bin:/bin` },
      encoding: 'utf8',
    });
    return r.stdout;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('stale records: only the servers servers.txt no longer names', () => {
  const keys = [
    '/shoestring/network/peers/s1',
    '/shoestring/network/peers/s4',
    '',
    '/shoestring/network/peers/s2',
  ];
  assert.is(
    withFakeEtcdctl(staleRecords(['s1', 's2', 's3']), keys),
    '/shoestring/network/peers/s4\n',
  );
  assert.is(withFakeEtcdctl(staleRecords(['s1', 's2', 's4']), keys), '');
  // The certificate each server's agent installed: a server that left keeps none either.
  const installed = ['/shoestring/tls/installed/s1', '/shoestring/tls/installed/s4'];
  assert.is(
    withFakeEtcdctl(staleRecords(['s1', 's2', 's3'], KEYS.installedPrefix), installed),
    '/shoestring/tls/installed/s4\n',
  );
});

test('the first server prunes both kinds of record', () => {
  const ctx = hostContext(THREE);
  const prune = (staticSteps(peers.phases(ctx, undefined)[0]!) ?? [])[1];
  assert.ok(prune?.kind === 'command');
  for (const prefix of PER_SERVER_PREFIXES) assert.ok(prune.run.includes(prefix), prefix);
});

test("a record is compact JSON with the server's key read on the server", () => {
  const out = spawnSync('bash', ['-c', recordScript('203.0.113.1', '10.88.0.1')], {
    encoding: 'utf8',
  }).stdout;
  const record = JSON.parse(out) as Record<string, string>;
  assert.equal(record, {
    publicKey: record['publicKey'] ?? '',
    public: '203.0.113.1',
    private: '10.88.0.1',
  });
});

test('every server records itself; only the first prunes; the scripts are valid bash', () => {
  const ctx = hostContext(THREE);
  const first = staticSteps(peers.phases(ctx, undefined)[0]!) ?? [];
  const second = staticSteps(peers.phases({ ...ctx, self: ctx.servers[1]! }, undefined)[0]!) ?? [];
  assert.is(first.length, 2);
  assert.is(second.length, 1);
  for (const s of first) {
    assert.ok(s.kind === 'command');
    for (const script of [s.unless, s.run])
      assert.is(spawnSync('bash', ['-n'], { input: script }).status, 0, script);
  }
});

test.run();
