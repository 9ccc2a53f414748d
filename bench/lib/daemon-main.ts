import { main } from '../../src/cli/main.js';

/** `pumpwatch` from source, for benchmarks that must not depend on a build. */
process.exitCode = await main(process.argv.slice(2));
