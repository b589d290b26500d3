/**
 * Provision's DNS decisions against an in-memory provider and a scripted etcd view: the sync is
 * exact, a drain never empties DNS, a drained or failing server stays out, a dry run changes
 * nothing and says what it would do. (The PowerDNS path runs for real in lab suite 09.)
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { ClusterServer } from '../../src/components/types.ts';
import type { DnsProvider } from '../../src/dns/types.ts';
import type { RunEvent } from '../../src/plan/events.ts';
import { ProvisionDns } from '../../src/provision/dns.ts';
import { hostContext, THREE } from './fixtures/cluster.ts';

class MemoryDns implements DnsProvider {
  readonly name = 'memory';
  readonly records = new Map<string, string[]>();
  edits = 0;
  listA(fqdn: string): Promise<string[]> {
    return Promise.resolve([...(this.records.get(fqdn) ?? [])].sort());
  }
  setA(fqdn: string, addresses: readonly string[]): Promise<void> {
    this.edits++;
    this.records.set(fqdn, [...addresses].sort());
    return Promise.resolve();
  }
  addTxt(): Promise<void> {
    return Promise.resolve();
  }
  removeTxt(): Promise<void> {
    return Promise.resolve();
  }
}

const ALL = THREE.map((s) => s.address).sort();

function setup(
  options: { dryRun?: boolean; provisioned?: boolean; etcd?: string; env?: string } = {},
) {
  const ctx = hostContext(
    THREE,
    `DNS_PROVIDER=powerdns\nPDNS_API_URL=http://ns.example.test:8081\nPDNS_API_KEY=k-123456\nACME_EMAIL=a@example.test\nDNS_DRAIN_SECONDS=0\n${options.env ?? ''}`,
  );
  const servers: ClusterServer[] = ctx.servers.map((s) => ({
    ...s,
    facts: { ...s.facts, provisioned: options.provisioned ?? true },
  }));
  const dns = new MemoryDns();
  const said: string[] = [];
  const scripts: string[] = [];
  const start = () =>
    ProvisionDns.start({
      config: ctx.config,
      servers,
      provider: dns,
      dryRun: options.dryRun ?? false,
      reporter: {
        close: () => undefined,
        event: (e: RunEvent) => {
          if (e.type === 'info' || e.type === 'warn') said.push(e.message);
        },
      },
      query: (_on, script) => {
        scripts.push(script);
        return Promise.resolve(options.etcd ?? '\n--\n');
      },
    });
  return { dns, said, scripts, servers, start };
}

test('sync: exactly one record per ready server for the wildcard and the apex; again: no edit', async () => {
  const t = setup();
  t.dns.records.set('*.example.test', ['198.51.100.99', ALL[0]!]);
  const d = await t.start();
  await d!.sync();
  assert.equal(t.dns.records.get('*.example.test'), ALL);
  assert.equal(t.dns.records.get('example.test'), ALL);
  assert.match(
    t.said.join('\n'),
    /changed \*\.example\.test: \+203\.0\.113\.11 \+203\.0\.113\.12 -198\.51\.100\.99/,
  );
  const edits = t.dns.edits;
  await d!.sync();
  assert.is(t.dns.edits, edits);
});

test('a first install publishes a server only once it passed its gates', async () => {
  const t = setup({ provisioned: false });
  const d = await t.start();
  await d!.sync();
  assert.is(t.dns.records.get('*.example.test'), undefined);
  await d!.undrain(t.servers.slice(0, 2));
  assert.equal(t.dns.records.get('*.example.test'), ALL.slice(0, 2));
});

test('drain withdraws the group and marks it in etcd; undrain restores; never every server', async () => {
  const t = setup();
  t.dns.records.set('*.example.test', ALL);
  t.dns.records.set('example.test', ALL);
  const d = await t.start();
  await d!.drain([t.servers[0]!]);
  assert.equal(t.dns.records.get('*.example.test'), ALL.slice(1));
  assert.match(t.scripts.join('\n'), /put \/shoestring\/dns\/drain\/s1 /);
  await d!.undrain([t.servers[0]!]);
  assert.equal(t.dns.records.get('*.example.test'), ALL);
  assert.match(t.scripts.join('\n'), /del \/shoestring\/dns\/drain\/s1 /);
  // All of them at once: refused, said, nothing withdrawn.
  await d!.drain(t.servers);
  assert.equal(t.dns.records.get('*.example.test'), ALL);
  assert.match(t.said.join('\n'), /not draining .*: no other server is in DNS/);
});

test('more ready servers than DNS_MAX_RECORDS: the limit published; a drain makes the window again without the group', async () => {
  const t = setup({ env: 'DNS_MAX_RECORDS=2' });
  const d = await t.start();
  await d!.sync();
  const published = t.dns.records.get('*.example.test') ?? [];
  assert.is(published.length, 2);
  assert.equal(t.dns.records.get('example.test'), published);
  // The group holds a published server: the others are published instead, the group is marked.
  const inDns = t.servers.find((s) => published.includes(s.address))!;
  await d!.drain([inDns]);
  assert.equal(
    t.dns.records.get('*.example.test'),
    ALL.filter((a) => a !== inDns.address),
  );
  assert.match(t.scripts.join('\n'), new RegExp(`put /shoestring/dns/drain/${inDns.hostname} `));
  // Every server at once: refused, said, nothing withdrawn.
  const before = t.dns.records.get('*.example.test');
  await d!.drain(t.servers);
  assert.equal(t.dns.records.get('*.example.test'), before);
  assert.match(t.said.join('\n'), /not draining .*: no other server is healthy/);
});

test('a new server in the group is marked drained too (the agent keeps it out), with no wait', async () => {
  const t = setup();
  t.dns.records.set('*.example.test', ALL.slice(0, 2));
  const d = await t.start();
  await d!.drain([t.servers[2]!]);
  assert.match(t.scripts.join('\n'), /put \/shoestring\/dns\/drain\/s3 /);
  assert.equal(t.dns.records.get('*.example.test'), ALL.slice(0, 2));
  assert.not.match(t.said.join('\n'), /waiting/);
});

test('a server drained in etcd or held failing by a fresh agent verdict stays out', async () => {
  const book = {
    s2: { address: THREE[1]!.address, in: false, failures: 3, successes: 0, since: 0 },
  };
  const state = JSON.stringify({
    holder: 's1',
    at: new Date().toISOString(),
    book,
    published: [],
    drained: [],
    keptLast: false,
  });
  const t = setup({ etcd: `${state}\n--\n/shoestring/dns/drain/s3\n` });
  const d = await t.start();
  await d!.sync();
  assert.equal(t.dns.records.get('*.example.test'), [THREE[0]!.address]);
  assert.match(t.said.join('\n'), /out until the agent's health checks pass: s2/);
});

test('an old agent verdict (no holder for a minute) is not trusted', async () => {
  const book = {
    s2: { address: THREE[1]!.address, in: false, failures: 3, successes: 0, since: 0 },
  };
  const at = new Date(Date.now() - 120_000).toISOString();
  const state = JSON.stringify({
    holder: 's1',
    at,
    book,
    published: [],
    drained: [],
    keptLast: false,
  });
  const t = setup({ etcd: `${state}\n--\n` });
  const d = await t.start();
  await d!.sync();
  assert.equal(t.dns.records.get('*.example.test'), ALL);
});

test('dry run: says what it would change, edits nothing, marks nothing', async () => {
  const t = setup({ dryRun: true });
  const d = await t.start();
  await d!.sync();
  assert.is(t.dns.edits, 0);
  assert.match(t.said.join('\n'), /would change \*\.example\.test: \+203\.0\.113\.10/);
  await d!.drain([t.servers[0]!]);
  assert.not.match(t.scripts.join('\n'), /put /);
});

test('destroy: the records go; the last servers take theirs along', async () => {
  const t = setup();
  t.dns.records.set('*.example.test', ALL);
  t.dns.records.set('example.test', ALL);
  const d = await t.start();
  await d!.remove([t.servers[2]!]);
  assert.equal(t.dns.records.get('*.example.test'), ALL.slice(0, 2));
  await d!.remove(t.servers.slice(0, 2));
  assert.equal(t.dns.records.get('*.example.test'), []);
  assert.equal(t.dns.records.get('example.test'), []);
});

test('DNS_PROVIDER=none: nothing to do', async () => {
  const ctx = hostContext(THREE);
  const d = await ProvisionDns.start({
    config: ctx.config,
    servers: ctx.servers,
    dryRun: false,
    reporter: { event: () => undefined, close: () => undefined },
    query: () => Promise.resolve(''),
  });
  assert.is(d, undefined);
});

test.run();
