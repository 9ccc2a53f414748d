import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { LABEL_KINDS } from '../../src/simulate/labels.js';
import { PARAMETERS } from '../../src/simulate/parameters.js';

const DOC = new URL('../../docs/simulator.md', import.meta.url);

describe('docs/simulator.md', () => {
  it('documents every parameter with its default and range', async () => {
    const text = await readFile(DOC, 'utf8');
    for (const [name, info] of Object.entries(PARAMETERS)) {
      const row = text.split('\n').find((line) => line.startsWith(`| \`${name}\` |`));
      expect(row, name).toBeDefined();
      expect(row!.split('|').map((cell) => cell.trim()), name).toEqual(expect.arrayContaining([String(info.default), `${info.min} – ${info.max}`]));
    }
  });

  it('documents every event kind a scenario can name', async () => {
    const text = await readFile(DOC, 'utf8');
    const scenarioKinds = LABEL_KINDS.filter((kind) => kind !== 'pump-alarm' && kind !== 'positional-occlusion');
    for (const kind of scenarioKinds) expect(text, kind).toContain(`| \`${kind}\``);
  });
});
