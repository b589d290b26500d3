/**
 * A server that dies silently (`scripts/lab.ts partition s3`: its packets are dropped, nothing
 * answers) while a request loop runs through the other servers' fronts (one request every 50
 * ms, alternating s1 and s2, Host app1.<lab domain>, over HTTPS once the certificate is there).
 * With nginx and with Apache: at most 1 % of the requests during the partition fail and none
 * after its first 5 s (each server's agent takes the silent server's instances off its
 * fastrouter within half a second; nginx also tries a request again when the fastrouter gives
 * up on the dead server). After the heal, s3 serves again and a loop through all three fronts is
 * clean.
 */
import { spawn } from 'node:child_process';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { labUp, runCommand } from './provision-helpers.ts';
import { formatSummary, startRequestLoop, summarize, type LoopResult } from './request-loop.ts';
import {
  DOMAIN,
  envFile,
  labAddresses,
  labCa,
  labTlsOn,
  provision,
  serversFile,
  sleep,
} from './stack-checks.ts';

/** The loop's HTTPS option when the lab's sites are on HTTPS. */
async function tls(): Promise<{ https?: { ca: Buffer } }> {
  return labTlsOn() ? { https: { ca: await labCa() } } : {};
}

const PARTITION_MS = 20_000;
let addrs: string[] = [];

function lab(...args: string[]): void {
  const r = runCommand('scripts/lab.ts', args);
  assert.is(r.status, 0, r.stdout + r.stderr);
}

/**
 * The same in the background: a synchronous command would stop the request loop for its second
 * and then let the held-back requests out in one burst, right at the partition.
 */
function labAsync(...args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/lab.ts', ...args], {
      stdio: 'ignore',
    });
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve() : reject(new Error(`lab ${args.join(' ')}: exit ${code}`)),
    );
  });
}

/** Runs the loop through s1 and s2, partitions s3 for PARTITION_MS, heals it. */
async function partitionS3(): Promise<{ results: LoopResult[]; cut: number; heal: number }> {
  const [s1 = '', s2 = ''] = addrs;
  const loop = startRequestLoop({
    addresses: [s1, s2],
    host: `app1.${DOMAIN()}`,
    intervalMs: 50,
    ...(await tls()),
  });
  try {
    await sleep(2000);
    const cut = loop.mark('partition');
    await labAsync('partition', 's3');
    await sleep(PARTITION_MS);
    const heal = loop.mark('heal');
    return { results: await loop.stop(), cut, heal };
  } finally {
    await loop.stop();
    lab('heal', 's3');
  }
}

/** After the heal: s3's front answers, its instance is back in the mesh, all three are clean. */
async function healedAndClean(): Promise<void> {
  const host = `app1.${DOMAIN()}`;
  // s3 announces itself again within a second or two of the heal.
  let served: Record<string, number> = {};
  for (let i = 0; i < 20 && !(served['s3'] ?? 0); i++) {
    await sleep(1000);
    const probe = startRequestLoop({ addresses: addrs, host, intervalMs: 50, ...(await tls()) });
    await sleep(1500);
    served = summarize(await probe.stop()).servedBy;
  }
  assert.ok(
    (served['s3'] ?? 0) > 0,
    `s3's instance is not served again: ${JSON.stringify(served)}`,
  );
  const loop = startRequestLoop({ addresses: addrs, host, intervalMs: 50, ...(await tls()) });
  await sleep(5000);
  const s = summarize(await loop.stop());
  console.log(`  after the heal, through s1, s2, s3: ${formatSummary(s)}`);
  assert.is(s.failures, 0, formatSummary(s));
  for (const name of ['s1', 's2', 's3']) assert.ok((s.servedBy[name] ?? 0) > 0, name);
}

test.before(() => {
  labUp(3);
  addrs = labAddresses().slice(0, 3);
});

test('nginx: ≤ 1 % failures while s3 is partitioned, none after 5 s; s3 serves again after the heal', async () => {
  const res = provision(['--servers', serversFile(3), '--env', envFile({ WEB_SERVER: 'nginx' })]);
  assert.is(res.status, 0, res.stdout.slice(-3000) + res.stderr);
  const { results, cut, heal } = await partitionS3();
  const during = summarize(results, { from: cut, to: heal });
  const late = summarize(results, { from: cut + 5000, to: heal });
  console.log(`  nginx, during the partition: ${formatSummary(during, cut)}`);
  assert.ok(during.requests > 200, `only ${during.requests} requests`);
  assert.ok(during.failureRate <= 0.01, formatSummary(during, cut));
  assert.is(late.failures, 0, formatSummary(late, cut));
  await healedAndClean();
});

test('apache: ≤ 1 % failures while s3 is partitioned, none after 5 s; s3 serves again after the heal', async () => {
  const res = provision(['--servers', serversFile(3), '--env', '.lab/.env']);
  assert.is(res.status, 0, res.stdout.slice(-3000) + res.stderr);
  const { results, cut, heal } = await partitionS3();
  const during = summarize(results, { from: cut, to: heal });
  const late = summarize(results, { from: cut + 5000, to: heal });
  console.log(`  apache, during the partition: ${formatSummary(during, cut)}`);
  assert.ok(during.requests > 200, `only ${during.requests} requests`);
  assert.ok(during.failureRate <= 0.01, formatSummary(during, cut));
  assert.is(late.failures, 0, formatSummary(late, cut));
  await healedAndClean();
});

test.after(() => {
  // Whatever happened, s3 is back on the network (the lab stays up for the next suites).
  runCommand('scripts/lab.ts', ['heal', 's3']);
});

test.run();
