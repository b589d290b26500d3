import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseReport } from '../../src/etcd/cluster.ts';
import { chooseCa, pemFromBase64, pemFromRange } from '../../src/etcd/pki.ts';
import { clearSecrets, redact } from '../../src/redact.ts';

const CERT = '-----BEGIN CERTIFICATE-----\nMIIBcert\n-----END CERTIFICATE-----\n';
const KEY =
  '-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg\n-----END PRIVATE KEY-----\n';
const b64 = (s: string) => Buffer.from(s).toString('base64');
// etcd's gateway returns values base64-encoded; ours are base64 of the PEM already.
const range = (pem: string) => JSON.stringify({ kvs: [{ key: 'x', value: b64(b64(pem)) }] });

test('PEM sections decode; anything else is no CA', () => {
  assert.is(pemFromBase64(b64(CERT)), CERT);
  assert.is(pemFromBase64(''), undefined);
  assert.is(pemFromBase64(b64('not a pem')), undefined);
  assert.is(pemFromRange(range(CERT)), CERT);
  assert.is(pemFromRange('{"header":{}}'), undefined);
  assert.is(pemFromRange(''), undefined);
});

test('a server report: disk CA, etcd CA, data dir and membership', () => {
  clearSecrets();
  const out = [
    '@@shoestring:ca_crt',
    b64(CERT),
    '@@shoestring:ca_key',
    b64(KEY),
    '@@shoestring:etcd_ca_crt',
    range(CERT),
    '@@shoestring:etcd_ca_key',
    range(KEY),
    '@@shoestring:initialized',
    'yes',
    '@@shoestring:status',
    '{"header":{"member_id":"12"},"leader":"12"}',
    '@@shoestring:members',
    '{"members":[{"ID":"12","name":"s1","peerURLs":["https://10.0.0.1:2380"]}]}',
  ].join('\n');
  const r = parseReport({ hostname: 's1', address: '10.0.0.1' }, out);
  assert.equal(r.disk, { cert: CERT, key: KEY });
  assert.equal(r.etcd, { cert: CERT, key: KEY });
  assert.ok(r.observed.initialized && r.observed.healthy);
  assert.is(r.observed.members?.length, 1);
  // The CA key is registered as a secret as soon as it is read.
  assert.not.match(redact(`key: ${KEY}`), /MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg/);
});

test('a fresh server reports nothing', () => {
  const r = parseReport(
    { hostname: 's2', address: '10.0.0.2' },
    '@@shoestring:ca_crt\n@@shoestring:etcd_ca_crt\n\n@@shoestring:etcd_ca_key\n\n@@shoestring:initialized\nno\n@@shoestring:status\n\n@@shoestring:members\n',
  );
  assert.is(r.disk, undefined);
  assert.is(r.etcd, undefined);
  assert.not.ok(r.observed.initialized);
  assert.not.ok(r.observed.healthy);
});

test('the CA is reused: etcd’s copy first, then any server’s; none means make one', () => {
  const a = { cert: CERT, key: KEY };
  const b = { cert: CERT.replace('cert', 'other'), key: KEY };
  assert.equal(chooseCa([{}, { disk: a }]), { ca: a, conflict: false });
  assert.equal(chooseCa([{ disk: b }, { etcd: a }]).ca, a);
  assert.ok(chooseCa([{ disk: b }, { etcd: a }]).conflict);
  assert.equal(chooseCa([{}, {}]), { ca: undefined, conflict: false });
});

test.run();
