/**
 * The nftables ruleset, rendered from a small plan (pure). One table, `inet shoestring`, with
 * one chain, `input` (policy drop); output and forward are left alone. The file replaces the
 * table in one transaction, and the table's comment carries a hash of the file, so "is the
 * loaded table the one in this file" is a string comparison.
 */
import { createHash } from 'node:crypto';
import { render } from '../templates.ts';
import { TABLE } from './paths.ts';

/** Source addresses or CIDRs, by family (nftables matches them with `ip` and `ip6`). */
export interface Sources {
  readonly v4: readonly string[];
  readonly v6: readonly string[];
}

/** One thing the input chain lets in. */
export interface Allow {
  /** The rule's comment: `nft list` says why it is there. */
  readonly why: string;
  /** A protocol and destination ports; any traffic when absent. */
  readonly ports?: { readonly proto: 'tcp' | 'udp'; readonly numbers: readonly number[] };
  /** From these sources only (both families empty: from nowhere); from anywhere when absent. */
  readonly from?: Sources;
  /** Arriving on this interface only (e.g. wg0). */
  readonly iifname?: string;
}

export interface FirewallPlan {
  /** The cluster's own traffic (WireGuard, the private network): before the user's rules. */
  readonly cluster: readonly Allow[];
  /** The user's FIREWALL_RULES, one nftables rule each, in order. */
  readonly rules: readonly string[];
  /** What the world may reach (SSH, the web), after the user's rules (which may drop it). */
  readonly open: readonly Allow[];
}

/** What IPv4 and IPv6 need to work: errors, ping, and (IPv6) neighbour discovery and MLD. */
const BASICS = [
  'iif "lo" accept',
  'ct state established,related accept',
  'ct state invalid drop',
  'icmp type { echo-request, destination-unreachable, time-exceeded, parameter-problem } accept',
  'icmpv6 type { destination-unreachable, packet-too-big, time-exceeded, parameter-problem, echo-request, mld-listener-query, nd-router-advert, nd-neighbor-solicit, nd-neighbor-advert } accept',
  'ip6 saddr fe80::/10 udp sport 547 udp dport 546 accept comment "dhcpv6 client"',
];

/** `x` for one value, `{ x, y }` for more (nftables' anonymous set). */
function set(values: readonly (string | number)[]): string {
  return values.length === 1 ? String(values[0]) : `{ ${values.join(', ')} }`;
}

function quoted(text: string): string {
  if (/["\\\n]/.test(text)) throw new Error(`not a plain nftables string: ${text}`);
  return `"${text}"`;
}

/** The rules of one Allow: one per address family it names (none when it names no source). */
export function allowRules(allow: Allow): string[] {
  const iif = allow.iifname ? `iifname ${quoted(allow.iifname)} ` : '';
  const ports = allow.ports ? `${allow.ports.proto} dport ${set(allow.ports.numbers)} ` : '';
  const verdict = `accept comment ${quoted(allow.why)}`;
  if (!allow.from) return [`${iif}${ports}${verdict}`];
  const { v4, v6 } = allow.from;
  return [
    ...(v4.length > 0 ? [`${iif}ip saddr ${set(v4)} ${ports}${verdict}`] : []),
    ...(v6.length > 0 ? [`${iif}ip6 saddr ${set(v6)} ${ports}${verdict}`] : []),
  ];
}

/** The input chain's rules, in order (the policy drops the rest). */
export function inputRules(plan: FirewallPlan): string[] {
  return [
    ...BASICS,
    ...plan.cluster.flatMap(allowRules),
    // After established/related (they can refuse new connections, never cut existing ones).
    ...plan.rules,
    ...plan.open.flatMap(allowRules),
  ];
}

export const HASH_LENGTH = 16;

/** The ruleset file. Its hash is that of the same file with an empty hash. */
export function renderRuleset(plan: FirewallPlan): string {
  const data = { table: TABLE, rules: inputRules(plan) };
  const unhashed = render('firewall/firewall.nft.hbs', { ...data, hash: '' });
  const hash = createHash('sha256').update(unhashed, 'utf8').digest('hex').slice(0, HASH_LENGTH);
  return render('firewall/firewall.nft.hbs', { ...data, hash });
}

/** The hash in a ruleset's (or `nft list table`'s) table comment, if any. */
export function rulesetHash(text: string): string | undefined {
  return /^\s*comment "shoestring ([0-9a-f]+)"$/m.exec(text)?.[1];
}
