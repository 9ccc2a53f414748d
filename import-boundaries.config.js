/**
 * Which parts of src/ may import which: the rule `npm run lint` enforces (see eslint.config.js)
 * and docs/architecture.md draws. A part is a folder of src/ or a file at its root. Each layer
 * may import only parts of layers below it, never a sibling or anything above, so the folders
 * import one way and a new back-edge fails the lint step.
 */
export const LAYERS = [
  // The kernel: time, the log-code catalogue, validation rules and the package version, importing nothing of ours.
  ['clock', 'log-codes', 'validation', 'version'],
  ['log'],
  ['telemetry'],
  ['alarms', 'protocols', 'simulate'],
  ['detect', 'ingest'],
  // What the ward page and replay --html draw (chart series, traces, assets) and the page's token check.
  ['view'],
  ['config'],
  ['mqtt'],
  ['pipeline', 'sources', 'sinks', 'station', 'schemas', 'pcd04'],
  // The pump emulators behind `simulate --serial` and `emulate-pump`: the pump side of each protocol, on a serial port.
  ['ops', 'evaluate', 'emulate'],
  // The live ward page: reads the running daemon's parts.
  ['web'],
  ['daemon'],
  ['service', 'demo'],
  ['cli'],
];

/** Back-edges that remain, each with the change that removes it. Nothing else may be added here. */
/** @type {{ file: string; imports: string; why: string }[]} */
export const EXCEPTIONS = [];

/** Import specifiers that reach `parts`, as written from a file `depth` folders below src/. */
function reaching(parts, depth) {
  const up = depth === 0 ? '\\./' : '(\\.\\./){' + depth + '}';
  return `^${up}(${parts.join('|')})(/|\\.js$)`;
}

/**
 * The flat-config blocks: one per part, forbidding every part not in a lower layer.
 * @param {{ file: string; imports: string; why: string }[]} exceptions
 */
export function boundaryConfigs(exceptions = EXCEPTIONS) {
  const configs = [];
  const rule = (part, file, depth, allowed) => {
    const forbidden = LAYERS.flat().filter((other) => other !== part && !allowed.includes(other));
    const message = `${part} may import only ${allowed.length === 0 ? 'nothing of ours' : allowed.join(', ')} (import-boundaries.config.js, docs/architecture.md)`;
    const patterns = [{ regex: reaching(forbidden, depth), message }];
    return { files: [file], rules: { 'no-restricted-imports': ['error', { patterns }] } };
  };
  LAYERS.forEach((layer, rank) => {
    const below = LAYERS.slice(0, rank).flat();
    for (const part of layer) {
      configs.push(rule(part, `src/${part}/*.ts`, 1, below), rule(part, `src/${part}.ts`, 0, below));
      for (const exception of exceptions.filter((candidate) => candidate.file.startsWith(`src/${part}/`))) {
        configs.push(rule(part, exception.file, 1, [...below, exception.imports]));
      }
    }
  });
  return configs;
}
