import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { settled, waitHealthy } from '../../src/components/etcd-health.ts';

// A stand-in for etcd's /health on loopback (its metrics listener, which the scripts ask).
async function fakeEtcd(healthy: boolean) {
  const server = createServer((_req, res) => res.end(JSON.stringify({ health: String(healthy) })));
  await new Promise<void>((r, j) => server.once('error', j).listen(2381, '127.0.0.1', r));
  return server;
}

/** Runs a script with bash, asynchronously (the fake etcd answers from this process). */
function bash(script: string): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn('bash', ['-c', `set -euo pipefail\n${script}`]);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

test('waiting for etcd does not end the apply script it is part of', async () => {
  let server;
  try {
    server = await fakeEtcd(true);
  } catch {
    return; // port taken on this machine (a real etcd): nothing to fake
  }
  try {
    const r = await bash(`${waitHealthy(2)}\necho after`);
    assert.is(r.status, 0, r.stderr);
    assert.is(r.stdout.trim(), 'after');
  } finally {
    server.close();
  }
});

test('an unhealthy member fails the wait (and the script)', async () => {
  let server;
  try {
    server = await fakeEtcd(false);
  } catch {
    return;
  }
  try {
    const r = await bash(`${waitHealthy(1)}\necho after`);
    assert.is.not(r.status, 0);
    assert.not.match(r.stdout, /after/);
  } finally {
    server.close();
  }
});

test('settled() fails at once when etcd is not running', async () => {
  const started = Date.now();
  const r = await bash(`( ${settled('true')} ) && echo yes || echo no`);
  // No systemd etcd unit here (or not active): "no", without the retries' delay.
  assert.is(r.stdout.trim(), 'no');
  assert.ok(Date.now() - started < 1500);
});

test.run();
