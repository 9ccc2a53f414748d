import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { publishedSchemas, renderSchema } from '../src/schemas.js';

const outputDir = join(import.meta.dirname, '..', 'schema');
for (const [name, schema] of Object.entries(publishedSchemas())) {
  await writeFile(join(outputDir, name), renderSchema(schema));
  console.log(`wrote schema/${name}`);
}
