// The one module that runs the training subproject's Python: it finds the interpreter as training/python.sh does
// ($PYTHON, else a python3 that imports torch, else /usr/bin/python3), checks that it has what training needs
// (torch, onnx, PIL, numpy) and turns its absence into one line saying what to install, and runs a script with its
// output passed through.
import { spawn, spawnSync } from 'node:child_process';
import path from 'node:path';
import { fromProjectRoot } from '../config/index.js';
import { CommandFailure } from '../cli-kit/command-kit.js';

export const TRAINING_DIR = fromProjectRoot('training');
const PYTHON_SH = path.join(TRAINING_DIR, 'python.sh');

/** What a server without PyTorch is told (exit code 1: the command cannot do its job on this machine). */
export const INSTALL_HINT =
  'on Debian: sudo apt-get install python3-torch python3-torchvision python3-onnx ' +
  'python3-pil python3-numpy (or pip install torch torchvision onnx pillow numpy, and set PYTHON=/path/to/python)';

/** Throws a CommandFailure with one line when the training Python cannot import what training needs. */
export function requireTrainingPython(): string {
  const probe = spawnSync(
    'sh',
    [PYTHON_SH, '-c', 'import sys; print(sys.executable, flush=True); import torch, onnx, numpy, PIL'],
    {
      cwd: TRAINING_DIR,
      encoding: 'utf8',
      env: process.env,
    },
  );
  const executable = probe.stdout?.trim().split('\n')[0] || process.env.PYTHON || 'python3';
  if (probe.error || probe.status !== 0) {
    const missing = /No module named '([^']+)'/.exec(probe.stderr ?? '')?.[1];
    const why = missing
      ? `its Python (${executable}) has no module '${missing}'`
      : probe.error
        ? `cannot run ${executable}: ${probe.error.message}`
        : `its Python (${executable}) failed: ${(probe.stderr ?? '').trim().split('\n').pop()}`;
    throw new CommandFailure(`retrain needs PyTorch: ${why}; ${INSTALL_HINT}`);
  }
  return executable;
}

/**
 * Runs `training/<script> args...` with the training Python, its output passed to ours. A failure becomes one
 * CommandFailure line: the script's own last error line (its exit code 2 means bad data or usage).
 */
export function runTrainingScript(script: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('sh', [PYTHON_SH, path.join(TRAINING_DIR, script), ...args], {
      cwd: TRAINING_DIR,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: process.env,
    });
    let lastError = '';
    child.stdout.on('data', (chunk: Buffer) => process.stdout.write(chunk));
    child.stderr.on('data', (chunk: Buffer) => {
      process.stderr.write(chunk);
      const lines = chunk
        .toString('utf8')
        .trim()
        .split('\n')
        .filter((l) => l.trim() !== '');
      if (lines.length > 0) lastError = lines[lines.length - 1]!;
    });
    child.on('error', (err) => reject(new CommandFailure(`cannot run training/${script}: ${err.message}`)));
    child.on('close', (code, signal) => {
      if (code === 0) resolve();
      else
        reject(
          new CommandFailure(
            `training/${script} failed (${signal ?? `exit ${code}`})` + (lastError ? `: ${lastError}` : ''),
          ),
        );
    });
  });
}
