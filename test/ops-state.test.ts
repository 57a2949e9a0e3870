// State outside the checkout: promote and rollback over the factory model write the state folder beside the
// database, never a tracked file (git status is the same after them), and `birdwatch models` tells installed,
// previous and candidates apart after each, with the figures `birdwatch model` prints.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withEditedMetadata } from './fixtures/onnx.js';
import { REPO, runCli } from './helpers/daemon.js';

const FACTORY = join(REPO, 'models', 'birds-vs-airplanes.onnx');
const sha = (file: string): string => createHash('sha256').update(readFileSync(file)).digest('hex');
const gitStatus = (): string => {
  const result = spawnSync('git', ['status', '--porcelain', '--ignored=no'], { cwd: REPO, encoding: 'utf8' });
  expect(result.status, result.stderr).toBe(0);
  return result.stdout;
};

interface ModelsLine {
  kind: string;
  id: string;
  path: string;
  accuracy: number | null;
  installed?: boolean;
}

let root: string;
let configFile: string;
let candidate: string;
let stateModel: string;

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'bw-state-'));
  mkdirSync(join(root, 'candidates'));
  candidate = join(root, 'candidates', 'candidate-1.onnx');
  writeFileSync(
    candidate,
    withEditedMetadata(readFileSync(FACTORY), (props) => {
      props.created_at = '2026-12-01T00:00:00Z';
    }),
  );
  configFile = join(root, 'config.json');
  writeFileSync(
    configFile,
    JSON.stringify({
      db: join(root, 'state', 'birdwatch.db'),
      watch: join(root, 'blog'),
      airplanes: join(root, 'planes'),
      retrain: { candidates: join(root, 'candidates') },
    }),
  );
  stateModel = join(root, 'state', 'models', 'birds-vs-airplanes.onnx');
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

async function models(): Promise<ModelsLine[]> {
  const result = await runCli(['models', '--json', '--config', configFile]);
  expect(result.code, result.stderr).toBe(0);
  return result.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as ModelsLine);
}

describe('promote and rollback over the factory model', () => {
  it('install into the state folder and put the factory model back there; git sees no change', async () => {
    const statusBefore = gitStatus();
    const factorySha = sha(FACTORY);
    const before = await models();
    expect(before.map((m) => [m.kind, m.path])).toEqual([
      ['installed', FACTORY],
      ['candidate', candidate],
    ]);

    const promoted = await runCli(['promote', candidate, '--force', '--config', configFile]);
    expect(promoted.code, promoted.stderr).toBe(0);
    expect(promoted.stdout).toContain(`at ${stateModel}`);
    expect(promoted.stdout).toContain(`the factory model ${FACTORY} is left as shipped`);
    expect(sha(stateModel)).toBe(sha(candidate));
    expect(existsSync(stateModel.replace(/\.onnx$/, '.json'))).toBe(true);
    expect(sha(FACTORY)).toBe(factorySha);
    expect(gitStatus()).toBe(statusBefore);

    // The config's default now finds the installed model; the candidate says it is the installed one.
    const afterPromote = await models();
    const candidateId = sha(candidate).slice(0, 12);
    const factoryId = factorySha.slice(0, 12);
    expect(afterPromote.map((m) => [m.kind, m.id, m.installed ?? false])).toEqual([
      ['installed', candidateId, false],
      ['previous', factoryId, false],
      ['candidate', candidateId, true],
    ]);
    const card = await runCli(['model', '--json', '--config', configFile]);
    expect(card.code, card.stderr).toBe(0);
    const figures = JSON.parse(card.stdout) as { file: string; report: { accuracy: number } };
    expect(figures.file).toBe(stateModel);
    expect(afterPromote[0]!.accuracy).toBe(figures.report.accuracy);

    const rolled = await runCli(['rollback', '--config', configFile]);
    expect(rolled.code, rolled.stderr).toBe(0);
    expect(sha(stateModel)).toBe(factorySha);
    const afterRollback = await models();
    // The factory model is installed again: listed once, as installed, not as previous too.
    expect(afterRollback.map((m) => [m.kind, m.id])).toEqual([
      ['installed', factoryId],
      ['previous', candidateId],
      ['candidate', candidateId],
    ]);
    expect(sha(FACTORY)).toBe(factorySha);
    expect(gitStatus()).toBe(statusBefore);
  });

  it('a config naming the factory model itself: promote refuses, saying where to install, and writes nothing', async () => {
    const naming = join(root, 'naming.json');
    const state = join(root, 'other-state');
    writeFileSync(naming, JSON.stringify({ db: join(state, 'birdwatch.db'), model: FACTORY }));
    const refused = await runCli(['promote', candidate, '--force', '--config', naming]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`names the factory model ${FACTORY}`);
    expect(refused.stderr).toContain(join(state, 'models', 'birds-vs-airplanes.onnx'));
    expect(existsSync(state)).toBe(false);
  });
});
