import { writeGeneratedDocs } from './generated-docs.js';

await writeGeneratedDocs();
