// Which SSH failures may be sent again: only those that happened before any session started.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { failedBeforeSession } from '../../src/ssh/classify.ts';

test('nothing was sent: connection refused, unreachable, unresolved, closed during key exchange', () => {
  for (const stderr of [
    'ssh: connect to host 172.30.0.12 port 22: Connection refused',
    'ssh: connect to host 172.30.0.12 port 22: Connection timed out',
    'ssh: connect to host 172.30.0.12 port 22: No route to host',
    'ssh: Could not resolve hostname web3: Name or service not known',
    'kex_exchange_identification: read: Connection reset by peer',
    'Connection closed by 172.30.0.12 port 22',
  ])
    assert.ok(failedBeforeSession(stderr), stderr);
});

test('a session that was cut may have left its script running: not sent again', () => {
  for (const stderr of [
    'Timeout, server 172.30.0.12 not responding.',
    'client_loop: send disconnect: Broken pipe',
    'Connection to 172.30.0.12 closed by remote host.',
    'packet_write_wait: Connection to 172.30.0.12 port 22: Broken pipe',
    '',
  ])
    assert.not.ok(failedBeforeSession(stderr), stderr);
});

test.run();
