/** The helper script and its systemd unit, rendered (pure). */
import { render } from '../templates.ts';
import { HELPER, ROLLBACK_SECONDS, ROLLBACK_UNIT, RULESET, STATE_DIR, TABLE } from './paths.ts';

export function helperScript(): string {
  return render('firewall/shoestring-firewall.hbs', {
    ruleset: RULESET,
    stateDir: STATE_DIR,
    delay: ROLLBACK_SECONDS,
    rollbackUnit: ROLLBACK_UNIT,
    table: TABLE,
  });
}

export function unitFile(): string {
  return render('firewall/shoestring-firewall.service.hbs', {
    helper: HELPER,
    ruleset: RULESET,
    table: TABLE,
  });
}
