// etcd's clients authenticate everywhere: the scripts that ask etcd use TLS with root's client
// certificate, the certificates name what they must, root's etcdctl wrapper fills in only what
// is not given, and the leader helper speaks TLS (against a local HTTPS server that requires a
// client certificate, made with openssl in a temp directory).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HEALTHY, waitHealthy } from '../../src/components/etcd-health.ts';
import {
  CA_GENERATE_SCRIPT,
  CA_PROBE_SCRIPT,
  CLIENT_CERT,
  CLIENT_CERT_VALID,
  CLIENT_KEY,
  ISSUE_CLIENT_CERT,
  ISSUE_PROXY_CERT,
  PROXY_CERT_VALID,
  issuePeerCert,
  opensslIp,
  peerCertValid,
} from '../../src/etcd/pki.ts';
import {
  CA_IN_ETCD_CHECK,
  CA_IN_ETCD_PROBE,
  CA_IN_ETCD_PUT,
  ETCD_QUERY_SCRIPT,
  gatewayPost,
} from '../../src/etcd/remote.ts';
import { acquireScript, refreshScript, releaseScript } from '../../src/lock/scripts.ts';
import { render } from '../../src/templates.ts';
import { alice } from './fixtures/lock-holder.ts';

const ROOT = join(import.meta.dirname, '..', '..');

/** `bash -n`: a syntax check only, nothing runs. */
function syntaxError(script: string): string | undefined {
  const r = spawnSync('bash', ['-n'], {
    input: `set -euo pipefail\n${script}\n`,
    encoding: 'utf8',
  });
  return r.status === 0 ? undefined : r.stderr.trim() || `bash -n exited ${r.status}`;
}

const SCRIPTS: Record<string, string> = {
  CA_GENERATE_SCRIPT,
  CA_PROBE_SCRIPT,
  CA_IN_ETCD_PROBE,
  CA_IN_ETCD_PUT,
  check: `if ${CA_IN_ETCD_CHECK}; then :; fi`,
  ETCD_QUERY_SCRIPT,
  peerCertValid: `if ${peerCertValid('s1', '10.88.0.1')}; then :; fi`,
  issuePeerCert: issuePeerCert('s1', '10.88.0.1'),
  CLIENT_CERT_VALID: `if ${CLIENT_CERT_VALID}; then :; fi`,
  ISSUE_CLIENT_CERT,
  PROXY_CERT_VALID: `if ${PROXY_CERT_VALID}; then :; fi`,
  ISSUE_PROXY_CERT,
  HEALTHY: `if ${HEALTHY}; then :; fi`,
  waitHealthy: waitHealthy(5),
  acquire: acquireScript(alice, { ttlSeconds: 60, breakLock: false }),
  refresh: refreshScript(alice.token, '694d7c4ad0c1d50b'),
  release: releaseScript(alice.token, '694d7c4ad0c1d50b'),
};

test('the etcd scripts pass bash -n', () => {
  for (const [name, script] of Object.entries(SCRIPTS))
    assert.is(syntaxError(script), undefined, name);
});

test('the scripts that ask etcd present root’s client certificate over TLS', () => {
  const tls = `--cacert /etc/shoestring/etcd-pki/ca.crt --cert ${CLIENT_CERT} --key ${CLIENT_KEY}`;
  const post = gatewayPost('/v3/kv/range', '{"key":"eA=="}');
  assert.match(post, /^curl -fsS -m 3 /);
  assert.ok(post.includes(tls), post);
  assert.ok(post.includes(`-d '{"key":"eA=="}' https://127.0.0.1:2379/v3/kv/range`), post);
  let asked = 0;
  for (const [name, script] of Object.entries(SCRIPTS)) {
    for (const l of script.split('\n')) {
      if (!/ETCDCTL_API=3 (timeout \d+ )?etcdctl |curl /.test(l)) continue;
      // The health check needs no certificate: it asks the plain metrics listener.
      if (l.includes('curl -fsS -m 3 http://127.0.0.1:2381/health ')) continue;
      // The CA probe checks the server with the CA file when it is there (else it is the one
      // thing the probe is for: the CA's copy in etcd), and always presents root's certificate.
      const recovery = `$([ -s /etc/shoestring/etcd-pki/ca.crt ] && echo --cacert /etc/shoestring/etcd-pki/ca.crt || echo --insecure) --cert ${CLIENT_CERT} --key ${CLIENT_KEY}`;
      assert.ok(
        l.includes(tls) || (name === 'CA_IN_ETCD_PROBE' && l.includes(recovery)),
        `${name}: ${l}`,
      );
      asked++;
    }
  }
  assert.ok(asked >= 10, `only ${asked} lines ask etcd: is the filter still right?`);
  assert.match(HEALTHY, /curl -fsS -m 3 http:\/\/127\.0\.0\.1:2381\/health /);
});

test('nothing in src/ or templates/ asks etcd over plain HTTP on its client port', () => {
  const offenders: string[] = [];
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, e.name);
      if (e.isDirectory()) walk(path);
      else
        for (const l of readFileSync(path, 'utf8').split('\n'))
          if (/http:\/\/(127\.0\.0\.1|localhost|\$\{[^}]*\}):2379/.test(l))
            offenders.push(`${path}: ${l}`);
    }
  };
  walk(join(ROOT, 'src'));
  walk(join(ROOT, 'templates'));
  assert.equal(offenders, []);
});

/** The names openssl prints for a certificate's subjectAltName (what the checks compare). */
function namesChecked(check: string): string[] {
  return [...check.matchAll(/-e ('[^']*'|[^\s)]+)/g)].map((m) =>
    (m[1] ?? '').replace(/^'|'$/g, ''),
  );
}

test('a member’s certificate names its private address, 127.0.0.1 and its host name', () => {
  const issue = issuePeerCert('s1', '10.88.0.1');
  assert.match(
    issue,
    /subjectAltName=IP:10\.88\.0\.1,IP:127\.0\.0\.1,DNS:s1\nextendedKeyUsage=serverAuth,clientAuth/,
  );
  assert.match(
    issue,
    /install -m 0600 -o etcd -g etcd "\$tmp\/x\.key" \/etc\/shoestring\/etcd-pki\/peer\.key/,
  );
  assert.equal(namesChecked(peerCertValid('s1', '10.88.0.1')), [
    'IP Address:10.88.0.1',
    'IP Address:127.0.0.1',
    'DNS:s1',
  ]);
  assert.match(peerCertValid('s1', '10.88.0.1'), /\)" = 3 \]/);
  // IPv6 as openssl prints it, or the check would re-issue (and restart etcd) on every run.
  assert.is(opensslIp('2001:db8::1'), '2001:DB8:0:0:0:0:0:1');
  assert.is(opensslIp('fe80::a:0:1'), 'FE80:0:0:0:0:A:0:1');
  assert.is(opensslIp('10.0.0.1'), '10.0.0.1');
  assert.equal(
    namesChecked(peerCertValid('s1', '2001:db8::1'))[0],
    'IP Address:2001:DB8:0:0:0:0:0:1',
  );
});

test('root’s client certificate: client use only, key for root alone; the proxy’s serves 127.0.0.1', () => {
  assert.match(ISSUE_CLIENT_CERT, /-subj '\/O=Shoestring etcd client'/);
  assert.match(ISSUE_CLIENT_CERT, /extendedKeyUsage=clientAuth\n/);
  assert.match(
    ISSUE_CLIENT_CERT,
    /install -m 0600 -o root -g root "\$tmp\/x\.key" \/etc\/shoestring\/etcd-pki\/client\.key/,
  );
  assert.match(
    ISSUE_PROXY_CERT,
    /subjectAltName=IP:127\.0\.0\.1\nextendedKeyUsage=serverAuth,clientAuth/,
  );
  assert.equal(namesChecked(PROXY_CERT_VALID), ['IP Address:127.0.0.1']);
  // A new CA goes into a directory only root enters, until etcd's configuration opens it to etcd.
  assert.match(CA_GENERATE_SCRIPT, /install -d -m 0700 \/etc\/shoestring\/etcd-pki/);
});

const WRAPPER = {
  endpoints: 'https://127.0.0.1:2379',
  caCert: '/p/ca.crt',
  cert: '/p/client.crt',
  key: '/p/client.key',
};

test('root’s etcdctl wrapper: fills in what neither the environment nor a flag gives', () => {
  const dir = mkdtempSync(join(tmpdir(), 'shoestring-etcdctl-'));
  try {
    const fake = join(dir, 'fake-etcdctl');
    writeFileSync(fake, '#!/bin/bash\nenv | grep ^ETCDCTL_ | sort\necho "args: $*"\n');
    chmodSync(fake, 0o755);
    const wrapper = join(dir, 'etcdctl');
    writeFileSync(wrapper, render('etcd/etcdctl.hbs', { ...WRAPPER, etcdctl: fake }));
    chmodSync(wrapper, 0o755);
    assert.is(syntaxError(readFileSync(wrapper, 'utf8')), undefined);
    const run = (args: string[], env: Record<string, string> = {}) => {
      const clean = Object.fromEntries(
        Object.entries(process.env).filter(([k]) => !k.startsWith('ETCDCTL_')),
      );
      const r = spawnSync(wrapper, args, { env: { ...clean, ...env }, encoding: 'utf8' });
      assert.is(r.status, 0, r.stderr);
      return r.stdout.trim().split('\n');
    };
    assert.equal(run(['endpoint', 'status', '--cluster', '-w', 'table']), [
      'ETCDCTL_API=3',
      'ETCDCTL_CACERT=/p/ca.crt',
      'ETCDCTL_CERT=/p/client.crt',
      'ETCDCTL_ENDPOINTS=https://127.0.0.1:2379',
      'ETCDCTL_KEY=/p/client.key',
      'args: endpoint status --cluster -w table',
    ]);
    // etcdctl refuses a setting given both as a flag and in the environment.
    assert.equal(run(['--endpoints=https://10.88.0.2:2379', '--cert', '/x.crt', 'get', '/']), [
      'ETCDCTL_API=3',
      'ETCDCTL_CACERT=/p/ca.crt',
      'ETCDCTL_KEY=/p/client.key',
      'args: --endpoints=https://10.88.0.2:2379 --cert /x.crt get /',
    ]);
    // What the environment already says stays.
    const kept = run(['get', '/'], {
      ETCDCTL_ENDPOINTS: 'https://10.88.0.3:2379',
      ETCDCTL_API: '2',
    });
    assert.ok(kept.includes('ETCDCTL_ENDPOINTS=https://10.88.0.3:2379'), kept.join('\n'));
    assert.ok(kept.includes('ETCDCTL_API=2'), kept.join('\n'));
    // After a lone --, nothing is a flag.
    assert.ok(run(['put', '--', '--key', 'v']).includes('ETCDCTL_KEY=/p/client.key'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the health vassal asks the metrics listener, which needs no certificate', () => {
  const text = render('uwsgi/health.py.hbs', {
    etcdHealthUrl: 'http://127.0.0.1:2381/health',
  });
  assert.match(text, /urlopen\("http:\/\/127\.0\.0\.1:2381\/health", timeout=TIMEOUT\)/);
  assert.not.match(text, /2379/);
});

/** openssl in a temp dir: a CA, a server certificate for 127.0.0.1, a client certificate. */
function makePki(dir: string): boolean {
  const sh = [
    'set -e',
    `cd ${dir}`,
    "openssl req -x509 -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -days 1 -subj '/CN=test CA' -keyout ca.key -out ca.crt",
    'printf "subjectAltName=IP:127.0.0.1\\nextendedKeyUsage=serverAuth\\n" > server.ext',
    'printf "extendedKeyUsage=clientAuth\\n" > client.ext',
    'for n in server client; do',
    '  openssl req -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -subj /O=test -keyout $n.key -out $n.csr',
    '  openssl x509 -req -in $n.csr -CA ca.crt -CAkey ca.key -set_serial 0x$RANDOM -days 1 -extfile $n.ext -out $n.crt',
    'done',
  ].join('\n');
  return spawnSync('bash', ['-c', sh], { encoding: 'utf8' }).status === 0;
}

/** Runs a command asynchronously (the HTTPS server answers from this process). */
function runAsync(cmd: string, args: string[]): Promise<{ status: number | null; stdout: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args);
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout });
    });
  });
}

test('am-i-the-leader on a member asks over TLS with the client certificate', async () => {
  if (spawnSync('python3', ['--version']).status !== 0) return; // no Python here
  const dir = mkdtempSync(join(tmpdir(), 'shoestring-leader-'));
  try {
    if (!makePki(dir)) return; // no openssl here
    const file = (n: string) => readFileSync(join(dir, n));
    const seen: boolean[] = [];
    const server = createServer(
      {
        key: file('server.key'),
        cert: file('server.crt'),
        ca: file('ca.crt'),
        requestCert: true,
        rejectUnauthorized: true,
      },
      (req, res) => {
        seen.push((req.socket as TLSSocket).authorized);
        const id = '9805532659670575266';
        res.end(JSON.stringify({ header: { member_id: id }, leader: id }));
      },
    );
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const { port } = server.address() as AddressInfo;
      const helper = join(dir, 'am-i-the-leader');
      const data = {
        proxyEnv: join(dir, 'no-proxy.env'),
        client: `https://127.0.0.1:${port}`,
        caCert: join(dir, 'ca.crt'),
        cert: join(dir, 'client.crt'),
        key: join(dir, 'client.key'),
      };
      writeFileSync(helper, render('etcd/am-i-the-leader.py.hbs', data));
      const ok = await runAsync('python3', [helper]);
      assert.equal(ok, { status: 0, stdout: 'true\n' });
      assert.equal(seen, [true], 'the server saw a client certificate from its CA');
      // A key it cannot read (anyone but root): cannot tell.
      writeFileSync(
        helper,
        render('etcd/am-i-the-leader.py.hbs', { ...data, key: join(dir, 'none') }),
      );
      assert.equal(await runAsync('python3', [helper]), { status: 2, stdout: 'unknown\n' });
    } finally {
      server.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
