import { describe, expect, it } from 'vitest';
import { ConfigSchema } from '../../src/config/schema.js';

describe('the overload section of the configuration', () => {
  it('defaults to shedding auto, entering at 90 % of a core for 2 s and leaving at 70 % for 10 s', () => {
    expect(ConfigSchema.parse({}).overload).toEqual({
      shedding: 'auto',
      enterCpuShare: 0.9,
      enterAfterSeconds: 2,
      exitCpuShare: 0.7,
      exitAfterSeconds: 10,
      maxDelaySeconds: 0.5,
      maxPendingSamples: 20_000,
    });
  });

  it('refuses an exit threshold at or above the entry threshold, naming the setting', () => {
    const result = ConfigSchema.safeParse({ overload: { enterCpuShare: 0.8, exitCpuShare: 0.8 } });
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.path).toEqual(['overload', 'exitCpuShare']);
  });

  it('takes shedding off, and refuses any other mode, naming the setting', () => {
    expect(ConfigSchema.parse({ overload: { shedding: 'off' } }).overload.shedding).toBe('off');
    const result = ConfigSchema.safeParse({ overload: { shedding: 'sometimes' } });
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.path).toEqual(['overload', 'shedding']);
  });
});
