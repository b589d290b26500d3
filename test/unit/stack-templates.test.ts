import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { describeApps } from '../../src/apps/discover.ts';
import { vassalIni, subscriptions } from '../../src/components/apps.ts';
import { PORTS } from '../../src/components/ports.ts';
import { FASTROUTER_TIMEOUT } from '../../src/components/uwsgi.ts';
import { apacheSite, nginxSite } from '../../src/components/web.ts';
import { TemplateError } from '../../src/errors.ts';
import { render } from '../../src/templates.ts';

const app1 = describeApps(
  [
    {
      name: 'app1',
      files: [
        { path: 'host', content: 'app1\n' },
        { path: 'app.wsgi', content: 'x' },
      ],
    },
  ],
  'example.test',
  PORTS.appsFrom,
)[0]!;

test('fastrouter.ini (golden): plugin, ports, subscription server on the own address, timeout', () => {
  const text = render('uwsgi/fastrouter.ini.hbs', {
    fastrouterPort: 3017,
    address: '10.0.0.2',
    subscriptionPort: 7000,
    timeout: FASTROUTER_TIMEOUT,
    statsPort: 3018,
    announceEvery: 2,
    tolerance: 8,
  });
  const settings = text.split('\n').filter((l) => l !== '' && !l.startsWith(';'));
  assert.equal(settings, [
    '[uwsgi]',
    'plugins = fastrouter',
    'master = true',
    'fastrouter = 127.0.0.1:3017',
    'fastrouter-subscription-server = 10.0.0.2:7000',
    'fastrouter-timeout = 8',
    'fastrouter-stats = 127.0.0.1:3018',
    'subscription-tolerance = 8',
    'subscription-dotsplit = true',
  ]);
});

test('app vassal (golden): python3 plugin, need-app, one subscribe2 per server (the full mesh)', () => {
  const text = vassalIni(app1, ['10.0.0.1', '10.0.0.2', '10.0.0.3'], '10.0.0.2');
  const settings = text.split('\n').filter((l) => l !== '' && !l.startsWith(';'));
  const port = app1.port;
  assert.equal(settings, [
    '[uwsgi]',
    'plugins = python3',
    'master = true',
    'processes = 2',
    `socket = 10.0.0.2:${port}`,
    'chdir = /srv/shoestring/apps/app1',
    'wsgi-file = /srv/shoestring/apps/app1/app.wsgi',
    'need-app = true',
    'die-on-term = true',
    'env = SHOESTRING_APP=app1',
    'subscribe-freq = 1',
    ...['1', '2', '3'].map(
      (n) => `subscribe2 = server=10.0.0.${n}:7000,key=app1.example.test,addr=10.0.0.2:${port}`,
    ),
  ]);
  // Never announce or listen on 0.0.0.0: the instance is the cluster's only.
  assert.not.match(text, /0\.0\.0\.0/);
});

test('subscriptions: one per server, always announcing the own address', () => {
  const subs = subscriptions(app1, ['a', 'b'], 'me');
  assert.is(subs.length, 2);
  assert.ok(subs.every((s) => s.includes('addr=me:')));
});

test('apache site: key from SERVER_NAME, proxy to the fastrouter, wildcard alias, maintenance page', () => {
  const text = apacheSite('example.test', 's1');
  assert.match(text, /ServerAlias \*\.example\.test/);
  assert.match(text, /RewriteRule \.\* - \[E=UWSGI_FASTROUTER_KEY:%\{SERVER_NAME\}\]/);
  assert.match(text, /ProxyPass \/ uwsgi:\/\/127\.0\.0\.1:3017\//);
  assert.match(text, /ErrorDocument 500 \/\.shoestring\/maintenance\.html/);
  // /healthz must come before the catch-all ProxyPass (first match wins).
  assert.ok(text.indexOf('ProxyPass /healthz') < text.indexOf('ProxyPass / '));
  assert.match(text, /\$\{APACHE_LOG_DIR\}/);
});

test('apache site: HTTPS only once the certificate file exists; /healthz stays on HTTP', () => {
  const text = apacheSite('example.test', 's1');
  const http = text.slice(text.indexOf('<VirtualHost *:80>'), text.indexOf('</VirtualHost>'));
  const tls = text.slice(text.indexOf('<VirtualHost *:443>'));
  // The redirect is conditional on the certificate, spares /healthz and ACME, and comes
  // before the fastrouter's rule (a redirect ends the rewriting).
  assert.match(
    http,
    /<IfFile \/etc\/shoestring\/tls\/fullchain\.pem>[\s\S]*RewriteCond %\{REQUEST_URI\} !\^\/healthz\$[\s\S]*acme-challenge[\s\S]*RewriteRule \^ https:\/\/%\{SERVER_NAME\}%\{REQUEST_URI\} \[R=301,L\]\s*<\/IfFile>/,
  );
  assert.ok(http.indexOf('R=301') < http.indexOf('UWSGI_FASTROUTER_KEY'));
  // The :443 vhost exists only with the certificate, and serves the same body.
  assert.match(text, /<IfFile \/etc\/shoestring\/tls\/fullchain\.pem>\s*<VirtualHost \*:443>/);
  assert.match(tls, /SSLCertificateKeyFile \/etc\/shoestring\/tls\/privkey\.pem/);
  assert.match(tls, /ProxyPass \/healthz uwsgi:/);
  assert.match(tls, /ProxyPass \/ uwsgi:\/\/127\.0\.0\.1:3017\//);
  assert.not.match(tls, /R=301/);
});

test('nginx site: key from $host after uwsgi_params, 503 for a dead health check', () => {
  const text = nginxSite('example.test', 's1');
  assert.match(text, /server_name example\.test \*\.example\.test;/);
  const i = text.indexOf('uwsgi_param UWSGI_FASTROUTER_KEY $host;');
  assert.ok(i > text.lastIndexOf('include uwsgi_params;', i) && i > 0);
  assert.match(text, /error_page 500 502 503 504 =503 @unhealthy;/);
});

test("nginx site: 443 comes from the agent's snippet; plain HTTP redirects only once it listens on 443", () => {
  const text = nginxSite('example.test', 's1');
  assert.match(text, /include \/etc\/shoestring\/tls\/nginx-\*\.conf;/);
  const root = text.slice(text.indexOf('location / {'));
  assert.match(root, /if \(-f \/etc\/shoestring\/tls\/nginx-listen\.conf\)/);
  assert.match(root, /if \(\$to_https = ch\) \{\s*return 301 https:\/\/\$host\$request_uri;/);
  // The health check location never redirects.
  const health = text.slice(
    text.indexOf('location = /healthz'),
    text.indexOf('location @unhealthy'),
  );
  assert.not.match(health, /return 301/);
});

/** The member's env file, for the member at 10.0.0.1. */
const etcdEnv = () =>
  render('etcd/etcd.env.hbs', {
    name: 's1',
    dataDir: '/var/lib/etcd/shoestring',
    peerUrl: 'https://10.0.0.1:2380',
    localClientUrl: 'https://127.0.0.1:2379',
    clientUrl: 'https://10.0.0.1:2379',
    metricsUrl: 'http://127.0.0.1:2381',
    peerCert: '/p/peer.crt',
    peerKey: '/p/peer.key',
    caCert: '/p/ca.crt',
    initialEnvFile: '/etc/shoestring/etcd-initial.env',
  });

test('etcd env: environment only, TLS peers and clients on the private address and loopback', () => {
  const text = etcdEnv();
  // The client API: TLS only (no plain HTTP, even on loopback), client certificates required.
  assert.match(
    text,
    /^ETCD_LISTEN_CLIENT_URLS=https:\/\/127\.0\.0\.1:2379,https:\/\/10\.0\.0\.1:2379$/m,
  );
  assert.match(text, /^ETCD_ADVERTISE_CLIENT_URLS=https:\/\/10\.0\.0\.1:2379$/m);
  assert.match(text, /^ETCD_CLIENT_CERT_AUTH=true$/m);
  assert.match(text, /^ETCD_TRUSTED_CA_FILE=\/p\/ca\.crt$/m);
  assert.match(text, /^ETCD_CERT_FILE=\/p\/peer\.crt$/m);
  // Plain HTTP only for /health and /metrics, on loopback.
  assert.match(text, /^ETCD_LISTEN_METRICS_URLS=http:\/\/127\.0\.0\.1:2381$/m);
  const plain = text.split('\n').filter((l) => !l.startsWith('#') && l.includes('http://'));
  assert.equal(plain, ['ETCD_LISTEN_METRICS_URLS=http://127.0.0.1:2381']);
  assert.match(text, /^ETCD_LISTEN_PEER_URLS=https:\/\/10\.0\.0\.1:2380$/m);
  assert.match(text, /^ETCD_INITIAL_ADVERTISE_PEER_URLS=https:\/\/10\.0\.0\.1:2380$/m);
  assert.match(text, /^ETCD_PEER_CLIENT_CERT_AUTH=true$/m);
  // Membership is not in this file (it would change on every added server).
  assert.not.match(text, /^ETCD_INITIAL_CLUSTER=/m);
});

test('etcd proxy unit: TLS on loopback with client certificates required, TLS to the voters', () => {
  const unit = render('etcd/proxy.service.hbs', {
    envFile: '/etc/shoestring/etcd-proxy.env',
    listenAddr: '127.0.0.1:2379',
    metricsUrl: 'http://127.0.0.1:2381',
    caCert: '/p/ca.crt',
    cert: '/p/proxy.crt',
    key: '/p/proxy.key',
    dataDir: '/var/lib/etcd/shoestring-proxy',
  });
  const exec = /^ExecStart=(.*)$/m.exec(unit)?.[1] ?? '';
  assert.match(exec, /^\/usr\/bin\/etcd grpc-proxy start /);
  assert.match(exec, / --listen-addr=127\.0\.0\.1:2379 /);
  assert.match(exec, / --endpoints=\$\{ETCD_PROXY_ENDPOINTS\} /);
  // Towards the voters.
  assert.match(exec, / --cacert=\/p\/ca\.crt --cert=\/p\/proxy\.crt --key=\/p\/proxy\.key /);
  // Its own listener: TLS, and a trusted CA, which makes client certificates mandatory.
  assert.match(
    exec,
    / --trusted-ca-file=\/p\/ca\.crt --cert-file=\/p\/proxy\.crt --key-file=\/p\/proxy\.key /,
  );
  assert.match(exec, / --metrics-addr=http:\/\/127\.0\.0\.1:2381 /);
  assert.match(unit, /^EnvironmentFile=\/etc\/shoestring\/etcd-proxy\.env$/m);
  assert.match(unit, /^Conflicts=etcd\.service$/m);
  const env = render('etcd/proxy.env.hbs', { endpoints: 'https://10.0.0.1:2379' });
  assert.match(env, /^ETCD_PROXY_ENDPOINTS=https:\/\/10\.0\.0\.1:2379$/m);
});

test('a missing variable in a stack template fails', () => {
  assert.throws(
    () => render('uwsgi/fastrouter.ini.hbs', { fastrouterPort: 3017 }),
    (e: unknown) => e instanceof TemplateError && /fastrouter\.ini\.hbs/.test(e.message),
  );
  assert.throws(
    () => render('etcd/initial.env.hbs', { initialCluster: 'a=b', state: 'new' }),
    (e: unknown) => e instanceof TemplateError && /token/.test(e.message),
  );
});

test.run();
