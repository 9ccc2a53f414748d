import { describe, expect, it } from 'vitest';
import type { Finding } from '../../src/alarms/finding.js';
import { SilenceWatch } from '../../src/detect/silence.js';

const T0 = 1_700_000_000_000;

function watch(defaultLimitMs = 60_000) {
  const findings: Finding[] = [];
  return { silence: new SilenceWatch(defaultLimitMs, (finding) => findings.push(finding)), findings };
}

describe('SilenceWatch', () => {
  it('raises telemetry-lost for a watched channel that never sends, after its own limit', () => {
    const { silence, findings } = watch();
    silence.watch('P1', '1', 5000, T0);
    silence.check(T0 + 5000);
    expect(findings).toEqual([]);
    silence.check(T0 + 5001);
    expect(findings).toEqual([
      expect.objectContaining({ condition: 'telemetry-lost', pumpId: 'P1', channel: '1', active: true, evidence: { silentSeconds: 5, limitSeconds: 5, lastSampleTs: null } }),
    ]);
  });

  it('ends it when the channel is first heard from', () => {
    const { silence, findings } = watch();
    silence.watch('P1', '1', 5000, T0);
    silence.check(T0 + 6000);
    silence.onSample('P1', '1', T0 + 7000, T0 + 7000);
    expect(findings.map((finding) => finding.active)).toEqual([true, false]);
  });

  it('applies a new limit to a channel it already knows without resetting its silence', () => {
    const { silence, findings } = watch();
    silence.onSample('P1', '1', T0, T0);
    silence.watch('P1', '1', 2000, T0 + 1500);
    silence.check(T0 + 2500);
    expect(findings).toHaveLength(1);
  });

  it('keeps the default limit when watched without one', () => {
    const { silence, findings } = watch(10_000);
    silence.watch('P1', '1', undefined, T0);
    silence.check(T0 + 9000);
    expect(findings).toEqual([]);
    silence.check(T0 + 10_001);
    expect(findings).toHaveLength(1);
  });

  it('holds channels heard only through samples to the default limit', () => {
    const { silence, findings } = watch(10_000);
    silence.watch('P1', '1', 2000, T0);
    silence.onSample('P2', '1', T0, T0);
    silence.check(T0 + 3000);
    expect(findings.map((finding) => finding.pumpId)).toEqual(['P1']);
  });
});
