import { describe, expect, it } from 'vitest';
import { ConfigSchema } from '../../src/config/schema.js';
import { evaluate } from '../../src/evaluate/evaluate.js';
import type { EvaluationPlan } from '../../src/evaluate/plan.js';

const plan: EvaluationPlan = { setName: 'custom', seeds: [5], families: [{ family: 'occlusion', pumps: 3, hours: 6 }] };

describe('evaluate', () => {
  it('runs a simulated ward through the pipeline and scores every true event, reporting progress', async () => {
    const messages: string[] = [];
    const result = await evaluate({ plan, config: ConfigSchema.parse({}), progress: (message) => messages.push(message), monotonic: { elapsedMs: () => 0 } });
    expect(result.runs).toHaveLength(1);
    expect(result.runs[0]!.rejected).toBe(0);
    expect(result.scores.events.length).toBeGreaterThan(0);
    expect(result.scores.events.every((event) => event.kind !== 'infiltration')).toBe(true);
    expect(result.summary.targets.length).toBeGreaterThan(0);
    expect(messages.some((message) => message.includes('occlusion seed 5'))).toBe(true);
  });

  it('gives the same figures for the same seeds', async () => {
    const once = async () => JSON.stringify((await evaluate({ plan, config: ConfigSchema.parse({}), monotonic: { elapsedMs: () => 0 } })).scores);
    expect(await once()).toBe(await once());
  });
});
