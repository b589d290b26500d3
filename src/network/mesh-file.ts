/**
 * Each server's WireGuard file from one text shared by the whole mesh. The file lists every other
 * server, each as the same block in every file (500 servers: 500 files of 85 kB, 42 MB in all).
 * The blocks of every server are joined once; a server's file is its head, that text without
 * its own block, and its tail. Planning compares it and hashes it from those parts; the whole
 * text is made only when the file is written or shown (see plan/steps/later.ts). Pure.
 */
import { createHash } from 'node:crypto';
import type { Later } from '../plan/steps/later.ts';
import { render } from '../templates.ts';
import {
  hasSetting,
  peerBlock,
  renderWgConf,
  sameConf,
  wgConfData,
  type Peer,
} from './wireguard.ts';

/** Every peer's block joined (with a newline between two), and where each one is. */
interface Joined {
  readonly text: string;
  readonly bytes: Buffer;
  /** Per peer: where its block starts and ends, in `text` and in `bytes`. */
  readonly at: readonly { readonly from: number; readonly to: number }[];
  readonly byteAt: readonly { readonly from: number; readonly to: number }[];
}

const joinedOf = new WeakMap<readonly Peer[], { readonly port: number; readonly joined: Joined }>();

function joined(all: readonly Peer[], port: number): Joined {
  const known = joinedOf.get(all);
  if (known && known.port === port) return known.joined;
  const blocks = all.map((p) => peerBlock(p, port));
  const at: { from: number; to: number }[] = [];
  const byteAt: { from: number; to: number }[] = [];
  let chars = 0;
  let bytes = 0;
  for (const b of blocks) {
    const length = Buffer.byteLength(b, 'utf8');
    at.push({ from: chars, to: chars + b.length });
    byteAt.push({ from: bytes, to: bytes + length });
    chars += b.length + 1;
    bytes += length + 1;
  }
  const text = blocks.join('\n');
  const made = { text, bytes: Buffer.from(text, 'utf8'), at, byteAt };
  joinedOf.set(all, { port, joined: made });
  return made;
}

/** Stands for the peers in the rendered file (split there): text no file can hold. */
const HOLE = '\u0000peers\u0000';

/** A server's WireGuard file, its text made when asked for. */
export interface MeshFile extends Later {
  /** sameConf(text(), other), without making the text when it can. */
  readonly sameAs: (other: string) => boolean;
}

/**
 * The file of the server at `self` in `all` (every server, in order, one object each): what
 * renderWgConf gives for every peer but that one. Undefined when it cannot be made from the
 * shared text (the caller renders it as usual).
 */
export function meshFile(o: {
  address: string;
  cidr: string;
  port: number;
  all: readonly Peer[];
  self: number;
}): MeshFile | undefined {
  const { all, self } = o;
  if (all.length < 2 || self < 0 || self >= all.length) return undefined;
  const frame = render('network/wg0.conf.hbs', wgConfData({ ...o, peers: HOLE }), {
    unique: true,
  });
  const [head, tail, more] = frame.split(HOLE);
  if (head === undefined || tail === undefined || more !== undefined) return undefined;
  const j = joined(all, o.port);
  const own = j.at[self];
  const ownBytes = j.byteAt[self];
  if (!own || !ownBytes) return undefined;
  // Without its block, and the newline before it (the last) or after it (any other).
  const last = self === all.length - 1;
  const cut = last ? { from: own.from - 1, to: own.to } : { from: own.from, to: own.to + 1 };
  const cutBytes = last
    ? { from: ownBytes.from - 1, to: ownBytes.to }
    : { from: ownBytes.from, to: ownBytes.to + 1 };
  const before = () => j.text.slice(0, cut.from);
  const after = () => j.text.slice(cut.to);
  const text = () => `${head}${before()}${after()}${tail}`;
  const length = head.length + j.text.length - (cut.to - cut.from) + tail.length;
  // Compared part by part (slices of flat texts are compared as memory, faster than startsWith).
  const at = head.length + cut.from;
  const same = (other: string) =>
    other.length === length &&
    other.slice(0, head.length) === head &&
    other.slice(head.length, at) === before() &&
    other.slice(at, length - tail.length) === after() &&
    other.slice(length - tail.length) === tail;
  return {
    text,
    sha256: () =>
      createHash('sha256')
        .update(head, 'utf8')
        .update(j.bytes.subarray(0, cutBytes.from))
        .update(j.bytes.subarray(cutBytes.to))
        .update(tail, 'utf8')
        .digest('hex'),
    sameAs(other) {
      if (same(other)) return true;
      // No file: the same only without a setting, and the head has one already.
      if (other === '' && hasSetting(head)) return false;
      return sameConf(text(), other);
    },
  };
}

/** The plain way, for what meshFile cannot make: renderWgConf's text as a MeshFile. */
export function plainMeshFile(conf: Parameters<typeof renderWgConf>[0]): MeshFile {
  const text = renderWgConf(conf);
  return { text: () => text, sameAs: (other) => sameConf(text, other) };
}
