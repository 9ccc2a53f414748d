import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { publishedSchemas, renderSchema } from '../src/schemas.js';

describe('published JSON Schemas', () => {
  it.each(Object.entries(publishedSchemas()))('schema/%s matches the zod schema (run `npm run schema` if not)', async (name, schema) => {
    const committed = await readFile(join(import.meta.dirname, '..', 'schema', name), 'utf8');
    expect(committed).toBe(renderSchema(schema));
  });
});
