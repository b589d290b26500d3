/**
 * The same stack tests with WEB_SERVER=nginx (apache is stopped and disabled), then switching
 * back to apache.
 */
import * as assert from 'uvu/assert';
import { on } from './helpers.ts';
import { curlBody, DOMAIN, envFile, provision, serversFile } from './stack-checks.ts';
import { stackSuite } from './stack-suite.ts';

const s = stackSuite('stack (nginx)', () => envFile({ WEB_SERVER: 'nginx' }), 'nginx');

s('switching back to apache stops and disables nginx; the apps still answer', async (ctx) => {
  const res = provision(['--servers', serversFile(3), '--env', '.lab/.env']);
  assert.is(res.status, 0, res.stdout.slice(-3000) + res.stderr);
  for (const a of ctx.addresses) {
    const r = await on(
      a,
      'systemctl is-active apache2; systemctl is-active nginx || true; systemctl is-enabled nginx || true',
    );
    assert.equal(r.out.split('\n'), ['active', 'inactive', 'disabled']);
    assert.is((await curlBody(a, `app2.${DOMAIN()}`)).code, '200');
  }
});

s.run();
