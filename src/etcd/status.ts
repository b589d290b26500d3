/**
 * etcd's HTTP/JSON gateway answers (pure parsers). The gateway prints uint64 IDs as strings;
 * etcdctl's `-w json` prints them as numbers above 2^53, which JSON.parse would round, so
 * anything that must read etcdctl JSON goes through `bigIntFields` first.
 */

export interface EndpointStatus {
  /** Decimal member ID of the member that answered. */
  readonly memberId: string;
  /** Decimal member ID of the leader it knows; '0' when it knows none. */
  readonly leaderId: string;
  readonly raftTerm: string;
  readonly version: string;
}

export interface Member {
  /** Decimal ID (as the gateway prints it). */
  readonly id: string;
  /** Empty while a member is added but not started. */
  readonly name: string;
  readonly peerUrls: readonly string[];
  readonly clientUrls: readonly string[];
  readonly isLearner: boolean;
}

/** Quotes every bare integer value of 16+ digits so JSON.parse keeps it exact. */
export function bigIntFields(json: string): string {
  return json.replace(/(:\s*)(\d{16,})(?=\s*[,}\]])/g, '$1"$2"');
}

function record(v: unknown): Record<string, unknown> | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
    ? (v as Record<string, unknown>)
    : undefined;
}

function idText(v: unknown): string | undefined {
  if (typeof v === 'string' && /^\d+$/.test(v)) return v;
  if (typeof v === 'number' && Number.isSafeInteger(v)) return String(v);
  return undefined;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(bigIntFields(text.trim())) as unknown;
  } catch {
    return undefined;
  }
}

/**
 * Parses `POST /v3/maintenance/status` (the gateway) or one element's `Status` of
 * `etcdctl endpoint status -w json`. Returns undefined when the text is not a status.
 */
export function parseStatus(text: string): EndpointStatus | undefined {
  const root = record(parseJson(text));
  if (!root) return undefined;
  // etcdctl -w json wraps it: [{Endpoint, Status: {...}}]
  const status = record(root['Status']) ?? root;
  const header = record(status['header']);
  const memberId = idText(header?.['member_id']);
  if (!memberId) return undefined;
  return {
    memberId,
    leaderId: idText(status['leader']) ?? '0',
    raftTerm: idText(status['raftTerm'] ?? header?.['raft_term']) ?? '0',
    version: typeof status['version'] === 'string' ? status['version'] : '',
  };
}

/** Parses `etcdctl endpoint status -w json` (an array of {Endpoint, Status}). */
export function parseEtcdctlStatus(text: string): EndpointStatus[] {
  const root = parseJson(text);
  if (!Array.isArray(root)) return [];
  return root
    .map((e) => parseStatus(JSON.stringify(e)))
    .filter((s): s is EndpointStatus => s !== undefined);
}

/** Parses `POST /v3/cluster/member/list` (gateway) or `etcdctl member list -w json`. */
export function parseMembers(text: string): Member[] | undefined {
  const root = record(parseJson(text));
  const list = root?.['members'];
  if (!Array.isArray(list)) return undefined;
  const strings = (v: unknown): string[] =>
    Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
  const members: Member[] = [];
  for (const m of list) {
    const r = record(m);
    const id = idText(r?.['ID']);
    if (!r || !id) continue;
    members.push({
      id,
      name: typeof r['name'] === 'string' ? r['name'] : '',
      peerUrls: strings(r['peerURLs']),
      clientUrls: strings(r['clientURLs']),
      isLearner: r['isLearner'] === true,
    });
  }
  return members;
}

/** etcdctl's `member remove` wants the hex form of the ID. */
export function hexId(decimal: string): string {
  return BigInt(decimal).toString(16);
}

/** The host part of an URL like https://172.30.0.11:2380 (IPv6 brackets removed). */
export function urlHost(url: string): string | undefined {
  try {
    return new URL(url).hostname.replace(/^\[|\]$/g, '');
  } catch {
    return undefined;
  }
}

export type LeaderVerdict =
  | { readonly state: 'leader'; readonly memberId: string }
  | { readonly state: 'follower'; readonly memberId: string; readonly leaderId: string }
  | { readonly state: 'unknown'; readonly reason: string };

/** Am I the leader? From the local member's status (or its absence). */
export function leaderVerdict(status: EndpointStatus | undefined): LeaderVerdict {
  if (!status) return { state: 'unknown', reason: 'the local etcd member did not answer' };
  if (status.leaderId === '0') return { state: 'unknown', reason: 'no leader is elected' };
  if (status.leaderId === status.memberId) return { state: 'leader', memberId: status.memberId };
  return { state: 'follower', memberId: status.memberId, leaderId: status.leaderId };
}

/** Exit code for am-i-the-leader: 0 leader, 1 follower, 2 cannot tell. */
export function verdictExitCode(v: LeaderVerdict): number {
  return v.state === 'leader' ? 0 : v.state === 'follower' ? 1 : 2;
}

/** The address of the leader, from the member list. */
export function leaderAddress(
  v: LeaderVerdict,
  members: readonly Member[] | undefined,
): string | undefined {
  const id = v.state === 'leader' ? v.memberId : v.state === 'follower' ? v.leaderId : undefined;
  const m = members?.find((x) => x.id === id);
  const url = m?.peerUrls[0];
  return url ? urlHost(url) : undefined;
}
