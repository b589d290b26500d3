/**
 * A unit masked (nothing can start it, not even at boot) or not masked. Idempotence: masked
 * units are left alone; masking stops the unit first.
 */
import { q } from '../../ssh/quote.ts';
import { readUnitState, unitStateProbe } from './service.ts';
import type { Change, StepKind } from './types.ts';

export interface MaskedStep {
  readonly kind: 'masked';
  readonly title: string;
  readonly unit: string;
  readonly masked: boolean;
}

export interface MaskedFact {
  readonly masked: boolean;
  readonly active: boolean;
}

export function masked(unit: string, isMasked = true): MaskedStep {
  return {
    kind: 'masked',
    title: `${isMasked ? 'Mask' : 'Unmask'} ${unit}`,
    unit,
    masked: isMasked,
  };
}

export const maskedKind: StepKind<MaskedStep, MaskedFact> = {
  probe: (s) => unitStateProbe(s.unit),
  parse: (_s, lines) => {
    const { enabled, active } = readUnitState(lines);
    return {
      masked: enabled.startsWith('masked'),
      active: active === 'active' || active === 'activating' || active === 'reloading',
    };
  },
  decide(step, fact): Change | null {
    const base = { title: step.title, notify: [] };
    if (step.masked) {
      if (fact.masked && !fact.active) return null;
      return {
        ...base,
        summary: `stop and mask ${step.unit}`,
        script: `systemctl stop ${q(step.unit)} 2>/dev/null || true\nsystemctl mask -q ${q(step.unit)}`,
      };
    }
    if (!fact.masked) return null;
    return {
      ...base,
      summary: `unmask ${step.unit}`,
      script: `systemctl unmask -q ${q(step.unit)}`,
    };
  },
};
