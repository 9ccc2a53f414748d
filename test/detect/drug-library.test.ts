import { describe, expect, it } from 'vitest';
import { DrugLibrary } from '../../src/detect/drug-library.js';
import { detectorSettings } from '../../src/detect/settings.js';

const defaults = detectorSettings();
const library = new DrugLibrary(defaults.drugLibrary, defaults.sensitiveContext.careAreas);

describe('DrugLibrary', () => {
  it.each(['Calcium Gluconate 10%', 'calcium-gluconate in G5W', 'CALCIUM CHLORIDE', 'Ca gluconate 100 mg/mL'])('knows %s as a vesicant', (name) => {
    expect(library.match({ name })?.vesicant).toBe(true);
  });

  it('does not mark other drugs as vesicants', () => {
    expect(library.match({ name: 'Dextrose 10%' })).toBeUndefined();
  });

  it('matches a configured drug code exactly', () => {
    const coded = new DrugLibrary([{ name: 'Dopamine', aliases: [], codes: ['DOP-40'], vesicant: true }], []);
    expect(coded.match({ name: 'unlisted label', code: 'DOP-40' })).toEqual({ name: 'Dopamine', vesicant: true });
  });

  it('treats care areas case-insensitively', () => {
    expect(library.isSensitiveCareArea('nicu')).toBe(true);
    expect(library.isSensitiveCareArea('PICU')).toBe(false);
    expect(library.isSensitiveCareArea(undefined)).toBe(false);
  });
});
