import { describe, expect, it } from 'vitest';
import { ConfigSchema } from '../../src/config/schema.js';

describe('the overload section of the configuration', () => {
  it('defaults to entering at 90 % busy for 2 s and leaving at 70 % for 10 s', () => {
    expect(ConfigSchema.parse({}).overload).toEqual({
      enterUtilization: 0.9,
      enterAfterSeconds: 2,
      exitUtilization: 0.7,
      exitAfterSeconds: 10,
      maxPendingSamples: 20_000,
    });
  });

  it('refuses an exit threshold at or above the entry threshold, naming the setting', () => {
    const result = ConfigSchema.safeParse({ overload: { enterUtilization: 0.8, exitUtilization: 0.8 } });
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.path).toEqual(['overload', 'exitUtilization']);
  });
});
