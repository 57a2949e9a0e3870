// The pipeline without the daemon around it: in-process (prepareImage + batched inference, 4 in flight), and the
// `birdwatch classify` CLI as a child process (start-up and model load included).
import { spawn } from 'node:child_process';
import { classifyFiles } from '../model/classify-files.js';
import { loadModel } from '../model/load.js';

/** Best of `passes` passes (the least disturbed one on a shared machine), like the floor. */
export async function inProcessPipeline(
  paths: string[],
  modelPath: string,
  passes = 2,
): Promise<{ imagesPerSecond: number; cpuMsPerImage: number; failed: number }> {
  const model = await loadModel({ path: modelPath, provider: 'cpu' });
  try {
    let best = { imagesPerSecond: 0, cpuMsPerImage: Number.NaN, failed: 0 };
    for (let pass = 0; pass < passes; pass++) {
      const started = performance.now();
      const cpu = process.cpuUsage();
      const counts = await classifyFiles(
        paths,
        model,
        { limits: { maxPixels: 100_000_000, maxBytes: 200 * 1024 * 1024 }, concurrency: 4 },
        () => undefined,
      );
      const used = process.cpuUsage(cpu);
      const imagesPerSecond = paths.length / ((performance.now() - started) / 1000);
      if (imagesPerSecond > best.imagesPerSecond) {
        best = {
          imagesPerSecond,
          cpuMsPerImage: (used.user + used.system) / 1000 / paths.length,
          failed: counts.failed,
        };
      }
    }
    return best;
  } finally {
    await model.close();
  }
}

export async function classifyCli(
  cli: string,
  paths: string[],
  modelPath: string,
): Promise<{ imagesPerSecond: number; lines: number; code: number | null }> {
  const started = performance.now();
  const child = spawn(process.execPath, [cli, 'classify', '--json', '--provider', 'cpu', '--model', modelPath, '-'], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  let lines = 0;
  child.stdout.on('data', (chunk: Buffer) => {
    for (const b of chunk) if (b === 10) lines++;
  });
  child.stdin.end(`${paths.join('\n')}\n`);
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  const seconds = (performance.now() - started) / 1000;
  return { imagesPerSecond: paths.length / seconds, lines, code };
}
