import { loadInputs, inputPaths, makeTransport } from '/work/main/src/provision/context.ts';
import { COMPONENTS } from '/work/main/src/components/index.ts';
import { gatherFacts } from '/work/main/src/provision/context.ts';
import { probeStep } from '/work/main/src/plan/steps/index.ts';
import { staticSteps } from '/work/main/src/plan/phase.ts';
const inputs = loadInputs(inputPaths({ lab: true }));
const t = makeTransport(inputs.config);
const g = await gatherFacts(t, inputs.servers, 20);
const ctx = { config: inputs.config, servers: g.servers, apps: inputs.apps, startTogether: new Set<string>() };
const io = { query: async (on: any, s: string, w: string) => (await t.run(on.target, s, { what: w })).stdout, apply: async () => {} };
const states = new Map();
for (const c of COMPONENTS) if (c.prepare) states.set(c, await c.prepare(ctx as any, io as any));
const self = g.servers[0]!;
const phases = COMPONENTS.flatMap((c) => c.phases({ ...ctx, self } as any, states.get(c)));
for (const p of phases) for (const s of staticSteps(p) ?? []) {
  const t0 = Date.now();
  await t.run(self.target, probeStep(s), { what: 'x' });
  const ms = Date.now() - t0;
  if (ms > 150) console.log(ms, p.title, s.title);
}
import { probeScript } from '/work/main/src/plan/probe.ts';
const all = phases.map((p) => staticSteps(p) ?? []);
for (let i = 0; i < 3; i++) {
  const t0 = Date.now();
  await t.run(self.target, probeScript(all), { what: 'x' });
  console.log('whole probe', Date.now() - t0);
}
let sum = 0;
for (const p of phases) for (const s of staticSteps(p) ?? []) {
  const t0 = Date.now();
  await t.run(self.target, probeStep(s), { what: 'x' });
  sum += Date.now() - t0;
}
const t1 = Date.now(); await t.run(self.target, 'true', { what: 'x' }); console.log('rtt', Date.now() - t1, 'sum', sum);
const r = await t.run(self.target, `PS4='+ $EPOCHREALTIME '; set -x\n${probeScript(all)}`, { what: 'x' });
const lines = r.stderr.split('\n').filter((l) => l.startsWith('+'));
let prev = 0; const costs: [number, string][] = [];
for (const l of lines) { const m = /^\++ (\d+\.\d+) (.*)$/.exec(l); if (!m) continue; const ts = Number(m[1]); if (prev) costs.push([ts - prev, l.slice(0, 160)]); prev = ts; }
costs.sort((a, b) => b[0] - a[0]); for (const [c, l] of costs.slice(0, 15)) console.log(c.toFixed(3), l);
