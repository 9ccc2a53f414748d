import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildWardSpec, createWard, listScenarios, loadScenario, parseScenarioText, type Scenario } from '../../src/simulate/index.js';
import { MIN } from './helpers.js';

async function scenario(name: string): Promise<Scenario> {
  const loaded = await loadScenario(name);
  if (!loaded.ok) throw new Error(loaded.problems.join('\n'));
  return loaded.scenario;
}

function parse(text: string) {
  return parseScenarioText(text, 'test.yaml');
}

describe('scenario library', () => {
  it('ships scenarios that all load and compile', async () => {
    const names = await listScenarios();
    expect(names).toEqual(expect.arrayContaining(['demo', 'donmez', 'occlusion-bench', 'infiltration-sites', 'artefacts', 'ward-40']));
    for (const name of names) {
      const spec = buildWardSpec({ scenario: await scenario(name) });
      expect(spec.pumps.length, name).toBeGreaterThan(0);
    }
  });

  it('gives a demo ward of 4–6 NICU pumps, some on calcium gluconate', async () => {
    const spec = buildWardSpec({ scenario: await scenario('demo') });
    expect(spec.pumps.length).toBeGreaterThanOrEqual(4);
    expect(spec.pumps.length).toBeLessThanOrEqual(6);
    expect(spec.pumps.every((pump) => pump.careArea === 'NICU')).toBe(true);
    expect(spec.pumps.flatMap((pump) => pump.channels).filter((channel) => channel.drug?.name === 'calcium gluconate').length).toBeGreaterThan(1);
  });

  it("makes a demo pump raise its own occlusion alarm from the physics within 15 min of sim time", async () => {
    const ward = createWard({ scenario: await scenario('demo') });
    let alarmAtMs: number | undefined;
    for (const { sample } of ward) {
      if (sample.pumpAlarms?.includes('OCCLUSION_DOWNSTREAM') === true) {
        alarmAtMs = Date.parse(sample.ts);
        break;
      }
    }
    expect(alarmAtMs).toBeDefined();
    expect((alarmAtMs! - ward.startMs) / MIN).toBeLessThan(15);
  });

  it('is the same ward as the mixed family for ward-40', async () => {
    const fromFile = buildWardSpec({ scenario: await scenario('ward-40') });
    const fromFamily = buildWardSpec({ family: 'mixed', pumps: 40, seed: 7 });
    expect(fromFile.pumps).toEqual(fromFamily.pumps);
  });

  it('fills omitted fields with the documented defaults, compliance by syringe size', () => {
    const loaded = parse('name: t\npumps: [{ id: A, channels: [{ syringeMl: 10 }, { pumpType: volumetric }] }]');
    if (!loaded.ok) throw new Error(loaded.problems.join());
    const [small, volumetric] = buildWardSpec({ scenario: loaded.scenario }).pumps[0]!.channels;
    expect(small).toMatchObject({ channel: '1', rateMlPerH: 1, complianceUlPerMmHg: 0.5, occlusionLimitMmHg: 300, reportIntervalS: 10, startMode: 'running' });
    expect(volumetric).toMatchObject({ channel: '2', complianceUlPerMmHg: 3, stickSlipMmHg: 0, rippleFraction: 0.05 });
  });

  it('holds a channel with a start-up event until it starts', () => {
    const loaded = parse('name: t\npumps: [{ id: A, channels: [{ events: [{ kind: start-up, at: 5m }] }] }]');
    if (!loaded.ok) throw new Error(loaded.problems.join());
    expect(buildWardSpec({ scenario: loaded.scenario }).pumps[0]!.channels[0]!.startMode).toBe('stopped');
  });

  it('adds random pumps from a family next to the listed ones', () => {
    const loaded = parse('name: t\nrandom: { family: quiet, pumps: 3 }\npumps: [{ id: A, channels: [{}] }]');
    if (!loaded.ok) throw new Error(loaded.problems.join());
    expect(buildWardSpec({ scenario: loaded.scenario }).pumps.map((pump) => pump.pumpId)).toEqual(['A', 'R01', 'R02', 'R03']);
  });

  it('reports every problem of a bad scenario with its path', () => {
    const loaded = parse('name: t\nduration: soon\npumps: [{ id: "a/b", channels: [{ rateMlPerH: -1, events: [{ kind: flood, at: 1m }] }] }]');
    expect(loaded.ok).toBe(false);
    if (loaded.ok) return;
    const text = loaded.problems.join('\n');
    expect(text).toContain('duration: must be a duration');
    expect(text).toContain('pumps.0.id');
    expect(text).toContain('pumps.0.channels.0.rateMlPerH');
    expect(text).toContain('pumps.0.channels.0.events.0.kind');
  });

  it('names the known scenarios when asked for one that does not exist', async () => {
    const loaded = await loadScenario('no-such-scenario');
    expect(loaded).toMatchObject({ ok: false, reason: 'not-found' });
    if (!loaded.ok) expect(loaded.problems[0]).toContain('demo');
  });

  it('loads a scenario from a file path', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pw-scenario-'));
    const path = join(dir, 'mine.yaml');
    await writeFile(path, 'name: mine\nduration: 10m\npumps: [{ id: M-1, channels: [{ rateMlPerH: 2 }] }]\n');
    const loaded = await loadScenario(path);
    expect(loaded.ok && loaded.scenario.duration).toBe(10 * MIN);
  });
});
