import { Worker } from 'node:worker_threads';

/**
 * Another process loading the machine: `threads` threads that spin for `seconds` and then exit,
 * whatever the parent does, so a crashed bench never leaves the cores busy.
 */

const config = JSON.parse(process.argv[2] ?? '{}') as { threads: number; seconds: number };
const untilMs = Date.now() + config.seconds * 1000;
const spin = `const untilMs = ${untilMs}; let x = 0; while (Date.now() < untilMs) x = (x + 1) % 1e9;`;
const workers = Array.from({ length: config.threads }, () => new Worker(spin, { eval: true }));
process.send?.({ type: 'ready' });
const stop = () => {
  for (const worker of workers) void worker.terminate();
  process.exit(0);
};
process.on('message', (message: { type: string }) => {
  if (message.type === 'stop') stop();
});
process.on('disconnect', stop);
setTimeout(stop, config.seconds * 1000 + 1000).unref();
