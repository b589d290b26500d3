/**
 * Aborting pending connects (the mesh does it to a silent server's instances): the `ss`
 * arguments, and for real on loopback: a listener that never accepts, with a full queue, leaves
 * later connects pending (the kernel drops their SYNs); those are aborted, the established one
 * is not.
 */
import { spawn } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { abortArgs, abortConnects, abortedCount } from '../../src/agent/abort-connects.ts';

test('ss arguments: kill, TCP, no header, only pending connects, any of the nodes', () => {
  assert.equal(abortArgs(['10.88.0.3:3100']), [
    '-K',
    '-t',
    '-n',
    '-H',
    'state',
    'syn-sent',
    '(',
    'dst',
    '10.88.0.3:3100',
    ')',
  ]);
  assert.equal(abortArgs(['10.88.0.3:3100', '10.88.0.3:3101']).slice(6), [
    '(',
    'dst',
    '10.88.0.3:3100',
    'or',
    'dst',
    '10.88.0.3:3101',
    ')',
  ]);
});

test('ss output: one line per aborted socket', () => {
  assert.is(abortedCount(''), 0);
  assert.is(abortedCount('0 1 127.0.0.1:5 127.0.0.1:6\n0 1 127.0.0.1:7 127.0.0.1:6\n'), 2);
});

test('nothing to abort: no ss run, 0', async () => {
  assert.is(await abortConnects([]), 0);
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

test('a pending connect is aborted (ECONNABORTED), an established one is left', async () => {
  // A listener with a queue of one that never accepts (Python: Node accepts by itself).
  const py = spawn('python3', [
    '-c',
    'import socket,sys,time\ns=socket.socket()\ns.bind(("127.0.0.1",0))\ns.listen(0)\nprint(s.getsockname()[1],flush=True)\ntime.sleep(60)',
  ]);
  try {
    const port = await new Promise<number>((resolve, reject) => {
      py.stdout.once('data', (d: Buffer) => resolve(Number(d.toString().trim())));
      py.once('error', reject);
    });
    const errors: (string | undefined)[] = [];
    const open = (): Socket => {
      const s = connect({ host: '127.0.0.1', port });
      s.on('error', (e: NodeJS.ErrnoException) => errors.push(e.code));
      return s;
    };
    const first = open();
    await new Promise((r) => first.once('connect', r));
    // The queue holds the first (and maybe one more); the rest stay pending.
    const others = [open(), open(), open()];
    await sleep(300);
    const aborted = await abortConnects([`127.0.0.1:${port}`]);
    assert.type(aborted, 'number');
    assert.ok((aborted as number) >= 1, `aborted ${String(aborted)}`);
    await sleep(100);
    assert.is(errors.length, aborted, `errors: ${errors.join(', ')}`);
    assert.ok(
      errors.every((e) => e === 'ECONNABORTED'),
      errors.join(', '),
    );
    assert.not.ok(first.destroyed, 'the established connection was left alone');
    for (const s of [first, ...others]) s.destroy();
  } finally {
    py.kill();
  }
});

test.run();
