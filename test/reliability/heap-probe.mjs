// Preloaded into the daemon by the stress run (`node --expose-gc --import <this> dist/cli.js run ...`): every 2 s it
// forces a full GC and writes process.memoryUsage() to $BW_HEAP_PROBE, so the test reads the live heap, not RSS.
import { writeFileSync } from 'node:fs';

setInterval(() => {
  globalThis.gc?.();
  writeFileSync(process.env.BW_HEAP_PROBE, JSON.stringify(process.memoryUsage()));
}, 2000).unref();
