import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { render, renderText } from '../../src/templates.ts';
import { TemplateError } from '../../src/errors.ts';

test('renders variables without HTML escaping', () => {
  assert.is(renderText('t', 'a={{a}} b={{b}}', { a: '<x&y>', b: 1 }), 'a=<x&y> b=1');
});

test('a missing variable fails, naming the template and the variable', () => {
  assert.throws(
    () => renderText('etcd/etcd.env.hbs', 'NAME={{name}} URL={{url}}', { name: 'x' }),
    (e: unknown) =>
      e instanceof TemplateError && /etcd\/etcd\.env\.hbs/.test(e.message) && /url/.test(e.message),
  );
});

test('a missing nested variable fails too', () => {
  assert.throws(
    () => renderText('t', '{{#each xs}}{{this.nope}}{{/each}}', { xs: [{ a: 1 }] }),
    (e: unknown) => e instanceof TemplateError,
  );
});

test('base/hosts.hbs lists every server', () => {
  const text = render('base/hosts.hbs', {
    hostname: 's1',
    servers: [
      { address: '192.0.2.1', hostname: 's1' },
      { address: '192.0.2.2', hostname: 's2' },
    ],
  });
  assert.match(text, /^127\.0\.0\.1\tlocalhost$/m);
  assert.match(text, /^192\.0\.2\.1\ts1$/m);
  assert.match(text, /^192\.0\.2\.2\ts2$/m);
});

test('an unknown template is a TemplateError', () => {
  assert.throws(
    () => render('nope/x.hbs', {}),
    (e: unknown) => e instanceof TemplateError,
  );
});

test.run();
