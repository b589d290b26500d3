import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  allowRules,
  inputRules,
  renderRuleset,
  rulesetHash,
  type FirewallPlan,
} from '../../src/firewall/ruleset.ts';

const plan: FirewallPlan = {
  cluster: [
    {
      why: 'wireguard',
      ports: { proto: 'udp', numbers: [51820] },
      from: { v4: ['203.0.113.10', '203.0.113.11'], v6: ['2001:db8::12'] },
    },
    { why: 'private network', iifname: 'wg0', from: { v4: ['10.88.0.1', '10.88.0.2'], v6: [] } },
  ],
  rules: ['tcp dport 8080 accept', 'ip saddr 192.0.2.66 tcp dport 22 drop'],
  open: [
    { why: 'ssh', ports: { proto: 'tcp', numbers: [22, 2222] } },
    { why: 'web', ports: { proto: 'tcp', numbers: [80, 443] } },
  ],
};

/** The chain's rules as the file has them (between the chain's type line and its end). */
function chainOf(text: string): string[] {
  const lines = text.split('\n').map((l) => l.trim());
  const from = lines.findIndex((l) => l.startsWith('type filter hook input'));
  return lines.slice(from + 1, lines.indexOf('}', from));
}

test('the file replaces only our table, in one transaction, and never flushes the ruleset', () => {
  const text = renderRuleset(plan);
  const lines = text.split('\n');
  const at = (l: string) => lines.indexOf(l);
  assert.ok(at('table inet shoestring {}') >= 0);
  assert.ok(at('table inet shoestring {}') < at('delete table inet shoestring'));
  assert.ok(at('delete table inet shoestring') < at('table inet shoestring {'));
  assert.not.match(text, /flush/);
  assert.match(text, /^\t\ttype filter hook input priority 0; policy drop;$/m);
  assert.is(text.match(/\bchain /g)?.length, 1, 'the input chain only');
});

test('the chain: basics first, the cluster, the user rules, then what the world may reach', () => {
  assert.equal(chainOf(renderRuleset(plan)), [
    'iif "lo" accept',
    'ct state established,related accept',
    'ct state invalid drop',
    'icmp type { echo-request, destination-unreachable, time-exceeded, parameter-problem } accept',
    'icmpv6 type { destination-unreachable, packet-too-big, time-exceeded, parameter-problem, echo-request, mld-listener-query, nd-router-advert, nd-neighbor-solicit, nd-neighbor-advert } accept',
    'ip6 saddr fe80::/10 udp sport 547 udp dport 546 accept comment "dhcpv6 client"',
    'ip saddr { 203.0.113.10, 203.0.113.11 } udp dport 51820 accept comment "wireguard"',
    'ip6 saddr 2001:db8::12 udp dport 51820 accept comment "wireguard"',
    'iifname "wg0" ip saddr { 10.88.0.1, 10.88.0.2 } accept comment "private network"',
    'tcp dport 8080 accept',
    'ip saddr 192.0.2.66 tcp dport 22 drop',
    'tcp dport { 22, 2222 } accept comment "ssh"',
    'tcp dport { 80, 443 } accept comment "web"',
  ]);
});

test('user rules come after established/related and before the SSH accept', () => {
  const rules = inputRules(plan);
  const drop = rules.indexOf('ip saddr 192.0.2.66 tcp dport 22 drop');
  assert.ok(drop > rules.indexOf('ct state established,related accept'));
  assert.ok(drop < rules.findIndex((r) => r.endsWith('comment "ssh"')));
});

test('an Allow: one rule per family it names; none when it names no source', () => {
  const ssh = { why: 'ssh', ports: { proto: 'tcp', numbers: [22] } } as const;
  assert.equal(allowRules(ssh), ['tcp dport 22 accept comment "ssh"']);
  assert.equal(allowRules({ ...ssh, from: { v4: ['198.51.100.0/24'], v6: ['2001:db8::/32'] } }), [
    'ip saddr 198.51.100.0/24 tcp dport 22 accept comment "ssh"',
    'ip6 saddr 2001:db8::/32 tcp dport 22 accept comment "ssh"',
  ]);
  assert.equal(allowRules({ ...ssh, from: { v4: [], v6: [] } }), []);
  assert.throws(() => allowRules({ why: 'a "quote"' }));
});

test('the table comment carries a hash of the file; any change changes it', () => {
  const text = renderRuleset(plan);
  const hash = rulesetHash(text);
  assert.ok(hash && /^[0-9a-f]{16}$/.test(hash), text);
  assert.is(renderRuleset(plan), text, 'the same plan gives the same file');
  const other = renderRuleset({ ...plan, rules: ['tcp dport 8081 accept'] });
  assert.is.not(rulesetHash(other), hash);
  // As `nft list table` prints it (a tab, then the comment).
  assert.is(rulesetHash(`table inet shoestring {\n\tcomment "shoestring ${hash}"\n}`), hash);
  assert.is(rulesetHash('table inet shoestring {\n}'), undefined);
});

test.run();
