import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { formatDetectorBench, runDetectorBench } from './detector.js';

/** `npm run bench`: every benchmark, a table on stdout and the figures as JSON in out/bench/. */
const outDir = join(import.meta.dirname, '..', 'out', 'bench');

async function writeJson(name: string, value: unknown): Promise<void> {
  const path = join(outDir, name);
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, `${JSON.stringify(value, null, 2)}\n`);
  console.log(`wrote out/bench/${name}`);
}

const detector = runDetectorBench();
console.log(formatDetectorBench(detector));
await writeJson('detector.json', detector);
