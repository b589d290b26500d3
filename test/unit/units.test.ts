// The probes' unit table: one `systemctl show` for every unit, read back per unit and property.
// Run by a local bash with `systemctl` replaced by a function that prints what systemd prints
// (blocks separated by blank lines) and logs each call.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { unitPrelude } from '../../src/plan/steps/units.ts';
import { probeScript } from '../../src/plan/probe.ts';
import { systemd } from '../../src/plan/steps/index.ts';

const STUB = `
log=$(mktemp)
trap 'rm -f "$log"' EXIT
calls() { echo "calls $(wc -l < "$log")"; }
systemctl() {
  echo call >> "$log"
  shift 2 # show -p LIST
  for u in "$@"; do
    case "$u" in
      etcd.service) printf 'ActiveState=active\\nId=etcd.service\\nUnitFileState=enabled\\nDropInPaths=/a.conf /b.conf\\n\\n' ;;
      nginx.service) printf 'Id=nginx.service\\nUnitFileState=\\nActiveState=inactive\\n\\n' ;;
      *) printf 'Id=%s\\nUnitFileState=masked\\nActiveState=failed\\n\\n' "$u" ;;
    esac
  done
}
`;

function bash(script: string): string {
  const r = spawnSync('bash', ['-c', `set -euo pipefail\n${STUB}\n${script}`], {
    encoding: 'utf8',
  });
  assert.is(r.status, 0, r.stderr);
  return r.stdout;
}

test('every unit is loaded in one call, whatever order the properties come in', () => {
  const out = bash(
    `${unitPrelude(['etcd', 'nginx'])}
shoestring_unit etcd UnitFileState
shoestring_unit etcd ActiveState
shoestring_unit etcd DropInPaths
shoestring_unit nginx.service UnitFileState
shoestring_unit nginx ActiveState
calls`,
  );
  assert.is(out, 'enabled\nactive\n/a.conf /b.conf\n\ninactive\ncalls 1\n');
});

test('a unit not loaded up front is asked for once, on first use', () => {
  const out = bash(
    `${unitPrelude([])}
shoestring_unit apache2 UnitFileState
shoestring_unit apache2 ActiveState
calls`,
  );
  assert.is(out, 'masked\nfailed\ncalls 1\n');
});

test('a probe script loads the units of all its phases in one call', () => {
  const script = probeScript([
    [systemd.service('etcd'), systemd.masked('nginx')],
    [systemd.daemonReload([{ unit: 'etcd', files: ['/b.conf'] }])],
  ]);
  const out = bash(`${script}\ncalls`);
  assert.match(out, /calls 1\n$/);
  assert.match(out, /enabled enabled\nactive active/);
  assert.match(out, /^loaded {2}\/a\.conf \/b\.conf$/m);
});

test.run();
