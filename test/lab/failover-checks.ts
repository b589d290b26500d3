/**
 * A server that dies silently (`scripts/lab.ts partition s3`: its packets are dropped, nothing
 * answers) while a request loop runs through the other servers' fronts (one request every 50
 * ms, alternating s1 and s2, Host app1.<lab domain>, over HTTPS once the certificate is there).
 * Goal for either front: at most 1 % of the requests during a 25 s partition fail and none after
 * its first 5 s (each server's agent takes the silent server's instances off its fastrouter
 * within a quarter second; nginx also sends a dropped GET again). After the heal, s3 serves
 * again and a loop through all three fronts is clean. Used by the nginx stack suite (04), which
 * has the servers provisioned already; Apache's silent failure is the chaos suite's.
 */
import * as assert from 'uvu/assert';
import { labAsync } from './helpers.ts';
import { runCommand } from './provision-helpers.ts';
import { formatSummary, startRequestLoop, summarize, type LoopResult } from './request-loop.ts';
import { DOMAIN, labCa, labTlsOn, sleep } from './stack-checks.ts';

/**
 * As long as bench/failover-mesh.ts's. What fails is a count, not a rate: the 1-3 requests
 * already on their way to the server when it went silent; a real dead server stays dead longer.
 */
const PARTITION_MS = 25_000;

/** The loop's HTTPS option when the lab's sites are on HTTPS. */
async function tls(): Promise<{ https?: { ca: Buffer } }> {
  return labTlsOn() ? { https: { ca: await labCa() } } : {};
}

/** Runs the loop through s1 and s2, partitions s3 for PARTITION_MS, heals it. */
async function partitionS3(
  addrs: readonly string[],
): Promise<{ results: LoopResult[]; cut: number; heal: number }> {
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
    runCommand('scripts/lab.ts', ['heal', 's3']);
  }
}

/** After the heal: s3's front answers, its instance is back in the mesh, all three are clean. */
async function healedAndClean(addrs: readonly string[]): Promise<void> {
  const host = `app1.${DOMAIN()}`;
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

/** The whole check: partition, the goals, heal, clean. */
export async function silentFailureCheck(addrs: readonly string[], web: string): Promise<void> {
  const { results, cut, heal } = await partitionS3(addrs);
  const during = summarize(results, { from: cut, to: heal });
  const late = summarize(results, { from: cut + 5000, to: heal });
  console.log(`  ${web}, during the partition: ${formatSummary(during, cut)}`);
  assert.ok(during.requests > 200, `only ${during.requests} requests`);
  assert.ok(during.failureRate <= 0.01, formatSummary(during, cut));
  assert.is(late.failures, 0, formatSummary(late, cut));
  await healedAndClean(addrs);
}
