// The corrections loop's rules on constructed figures: the calibrate threshold rule against hand-worked scores,
// the promotion rule naming each blocking figure, the held-out split staying put as labels arrive,
// and the config keys (birdBudget, retrain) with their errors.
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { certifiedThreshold, figuresAt, thresholdMoving, thresholdToKeep } from '../src/calibrate/rule.js';
import { ConfigError, loadConfig } from '../src/config/index.js';
import {
  compareModels,
  promotionBlockers,
  type Comparison,
  type LabelledFile,
  type ModelFigures,
} from '../src/retrain/compare.js';
import { modelFileInfo } from '../src/model/file-info.js';
import { FIXTURE_AIRPLANES, FIXTURE_BIRDS } from './fixtures/images.js';
import type { ClubShot } from '../src/retrain/shots.js';
import { heldOutHash, splitShots } from '../src/retrain/split.js';
import { autoPromoteBlocker } from '../src/retrain/install.js';
import { evidenceAtBudget, mcnemar } from '../src/retrain/evidence.js';
import { makeTestDirs, REPO } from './helpers/daemon.js';

describe('the calibrate rule on constructed scores', () => {
  // Ten birds 0.00, 0.10, ..., 0.90 (in shuffled order) and four airplanes.
  const birds = [0.3, 0.9, 0.0, 0.5, 0.8, 0.1, 0.7, 0.2, 0.6, 0.4];
  const planes = [0.95, 0.85, 0.8, 0.79];

  it('the threshold moving k birds sits 1e-5 above the (k+1)-th highest; figures at it', () => {
    expect(thresholdMoving(birds, 1)).toBe(0.80001);
    // At 0.80001: the bird at 0.9 moves; airplanes 0.95 and 0.85 are caught, 0.80 and 0.79 are not.
    expect(figuresAt(0.80001, birds, planes)).toEqual({
      threshold: 0.80001,
      birds: 10,
      airplanes: 4,
      birds_moved: 1,
      birds_moved_share: 0.1,
      airplanes_caught: 2,
      airplanes_caught_share: 0.5,
    });
    expect(thresholdMoving(birds, 3)).toBe(0.60001); // 0.9, 0.8, 0.7 move
    expect(thresholdMoving(birds, 10)).toBe(0);
  });

  it('ten birds certify a 30% budget at 90% with none moved (U(0, 10) = 0.206), not with one (0.337)', () => {
    expect(certifiedThreshold(birds, 0.3, 0.9)).toMatchObject({ certified: true, threshold: 0.90001, birds_moved: 0 });
    expect(certifiedThreshold(birds, 0.1, 0.9)).toMatchObject({
      certified: false,
      threshold: null,
      best: 0.90001,
      more_birds_needed: 12,
    });
  });

  it('birds tied with the one that must stay stay too', () => {
    const tied = [0.5, 0.5, 0.5, 0, 0, 0, 0, 0, 0, 0];
    expect(thresholdMoving(tied, 1)).toBe(0.50001);
    expect(figuresAt(0.50001, tied, []).birds_moved).toBe(0);
  });

  it('rounds up to 6 decimals and never above 1', () => {
    expect(thresholdMoving([0.1234561, 0], 1)).toBe(0.00001);
    expect(thresholdMoving([0.1234561, 0.1234561], 0)).toBe(0.123467); // 0.1234661 rounded up
    expect(thresholdMoving([1, 1], 0)).toBe(1);
  });

  it('uncertified keeps the stricter of the threshold in use and the best the birds allow', () => {
    const choice = certifiedThreshold([0.5, 0.6, 0.7], 0.01, 0.9);
    expect(thresholdToKeep(choice, 0.5)).toBe(0.70001);
    expect(thresholdToKeep(choice, 0.9)).toBe(0.9);
    expect(thresholdToKeep(certifiedThreshold([], 0.01, 0.9), 0.8)).toBe(0.8);
  });
});

describe('the promotion rule', () => {
  const figures = (birdsMoved: number, caught: number): ModelFigures => ({
    images: 40,
    birds: 20,
    airplanes: 20,
    correct: 30,
    accuracy: 0.75,
    threshold: 0.9,
    threshold_used: '0.9 (model)',
    birds_moved: birdsMoved,
    birds_moved_share: birdsMoved / 20,
    airplanes_caught: caught,
    airplanes_caught_share: caught / 20,
  });
  const comparison = (held: [number, number, number, number], split: [number, number, number, number]): Comparison => ({
    budget: 0.01,
    club_held_out: { images: 40, failed: 0, current: figures(held[0], held[1]), candidate: figures(held[2], held[3]) },
    report_split: {
      images: 40,
      failed: 0,
      current: figures(split[0], split[1]),
      candidate: figures(split[2], split[3]),
    },
  });

  it('passes a candidate that moves no more birds on either set and catches as many airplanes on the club set', () => {
    expect(promotionBlockers(comparison([2, 10, 2, 10], [1, 9, 1, 5]))).toEqual([]);
    expect(promotionBlockers(comparison([2, 10, 1, 14], [1, 9, 0, 12]))).toEqual([]);
  });

  it('names each blocking figure', () => {
    expect(promotionBlockers(comparison([2, 10, 3, 12], [1, 9, 1, 9]))).toEqual([
      "it moves more birds on the club's held-out shots: 3 of 20 at 0.9 (model) against 2 at 0.9 (model) " +
        '(bird budget 0.01)',
    ]);
    expect(promotionBlockers(comparison([2, 10, 2, 10], [1, 9, 2, 15]))).toEqual([
      'it moves more birds on the CIFAR report split: 2 of 20 at 0.9 (model) against 1 at 0.9 (model) ' +
        '(bird budget 0.01)',
    ]);
    expect(promotionBlockers(comparison([2, 10, 2, 9], [1, 9, 1, 19]))).toEqual([
      "it catches fewer airplanes on the club's held-out shots: 9 of 20 at 0.9 (model) against 10 at 0.9 (model)",
    ]);
  });
});

describe('evidence beyond the noise (src/retrain/evidence.ts)', () => {
  it('exact McNemar on the discordant pairs', () => {
    expect(mcnemar(0, 0).p_value).toBe(1);
    expect(mcnemar(0, 6).p_value).toBeCloseTo(2 / 64, 12); // 6 : 0 is the fewest that can be significant
    expect(mcnemar(0, 5).p_value).toBeCloseTo(2 / 32, 12);
    expect(mcnemar(3, 1).p_value).toBeCloseTo((2 * (1 + 4)) / 16, 12);
  });

  it("the issue's case, 22 against 24 of 28 airplanes, is noise; the shots needed are said", () => {
    // 28 airplanes: the candidate misses 3 the current catches and catches 1 it misses: 22 against 24.
    const planes = [
      ...Array(21).fill({ current: 0.9, candidate: 0.9 }),
      ...Array(3).fill({ current: 0.9, candidate: 0.1 }),
      { current: 0.1, candidate: 0.9 },
      ...Array(3).fill({ current: 0.1, candidate: 0.1 }),
    ];
    const birds = Array.from({ length: 22 }, (_, i) => ({ current: i / 100, candidate: i / 100 }));
    const evidence = evidenceAtBudget(birds, planes, 0.01, 0.9);
    expect(evidence.current.airplanes_caught.k).toBe(24);
    expect(evidence.candidate.airplanes_caught.k).toBe(22);
    expect(evidence.mcnemar).toMatchObject({ current_only: 3, candidate_only: 1 });
    expect(evidence.verdict).toBe('too few to tell');
    expect(evidence.certifiable).toBe(false);
    expect(evidence.more_birds_needed).toBe(208);
    // At a 1 : 3 split a significant difference takes 17 discordant pairs (4 : 13, p = 2 x 3214 / 2^17 = 0.049):
    // 17 x 28 / 4 = 119 airplanes.
    expect(evidence.airplanes_needed).toBe(119);
    expect(evidence.summary).toMatch(/too few held-out airplanes to tell: about 119 would be needed/);
    const comparison = {
      budget: 0.01,
      at_budget: evidence,
      club_held_out: {
        images: 50,
        failed: 0,
        current: {} as ModelFigures,
        candidate: {} as ModelFigures,
        birds_test: mcnemar(0, 0),
      },
      report_split: {
        images: 0,
        failed: 0,
        current: {} as ModelFigures,
        candidate: {} as ModelFigures,
        birds_test: mcnemar(0, 0),
      },
    } as Comparison;
    expect(promotionBlockers(comparison)).toEqual([]);
  });

  it('refuses only when the candidate is worse beyond the noise', () => {
    const planes = [
      ...Array(10).fill({ current: 0.9, candidate: 0.1 }),
      ...Array(20).fill({ current: 0.9, candidate: 0.9 }),
    ];
    const birds = Array.from({ length: 300 }, (_, i) => ({ current: i / 1000, candidate: i / 1000 }));
    const evidence = evidenceAtBudget(birds, planes, 0.01, 0.9);
    expect(evidence).toMatchObject({
      verdict: 'worse',
      certifiable: true,
      mcnemar: { current_only: 10, candidate_only: 0 },
    });
    expect(
      evidenceAtBudget(
        birds,
        planes.map((p) => ({ current: p.candidate, candidate: p.current })),
        0.01,
        0.9,
      ).verdict,
    ).toBe('better');
  });
});

describe('compareModels judges each model at the threshold it runs with', () => {
  const shipped = join(REPO, 'models', 'birds-vs-airplanes.onnx');
  const cifar = join(REPO, 'test', 'fixtures', 'cifar');
  const reportSplit: LabelledFile[] = (['airplane', 'bird'] as const).flatMap((label) =>
    readdirSync(join(cifar, label))
      .sort()
      .map((n) => ({ path: join(cifar, label, n), label })),
  );

  it('blocks weights re-exported at threshold 0.01, naming the figure; kept config thresholds judge both', async () => {
    const dirs = makeTestDirs('bw-loop-compare-');
    try {
      // A genuinely worse model: the same weights, its metadata threshold 0.01 (the daemon would move most birds).
      // A threshold re-chosen on the judged split would give it the current model's figures and let it through.
      const worse = join(dirs.root, 'worse.onnx');
      const script =
        'import onnx, sys; m = onnx.load(sys.argv[1]); ' +
        '[setattr(p, "value", "0.01") for p in m.metadata_props if p.key == "threshold"]; onnx.save(m, sys.argv[2])';
      const python = spawnSync('/usr/bin/python3', ['-c', script, shipped, worse], { encoding: 'utf8' });
      expect(python.status, python.stderr).toBe(0);
      expect(modelFileInfo(worse).threshold).toBe(0.01);
      const own = modelFileInfo(shipped).threshold;
      const file = join(dirs.root, 'c.json');
      const camera = { name: 'garden', watch: dirs.watch, airplanes: dirs.airplanes };
      writeFileSync(file, JSON.stringify({ cameras: [camera], model: shipped }));
      const held: LabelledFile[] = [
        ...FIXTURE_BIRDS.map((path) => ({ path, label: 'bird' as const, camera: 'garden' })),
        ...FIXTURE_AIRPLANES.map((path) => ({ path, label: 'airplane' as const, camera: 'garden' })),
      ];
      const plain = await compareModels(loadConfig({ file }), shipped, worse, held, reportSplit, 0.01);
      const split = plain.report_split;
      expect(split.current).toMatchObject({ threshold: own, threshold_used: `${own} (model)` });
      expect(split.candidate).toMatchObject({ threshold: 0.01, threshold_used: '0.01 (model)' });
      expect(split.candidate_kept_thresholds).toBeUndefined();
      expect(split.candidate.birds_moved).toBeGreaterThan(split.current.birds_moved);
      // Worse beyond the noise: every bird it moves more is moved by it alone (exact McNemar).
      const test = split.birds_test!;
      expect(test.current_only).toBe(0);
      expect(test.candidate_only).toBe(split.candidate.birds_moved - split.current.birds_moved);
      expect(test.p_value).toBeLessThan(0.05);
      expect(promotionBlockers(plain)).toContain(
        `it moves more birds on the CIFAR report split: ` +
          `${split.candidate.birds_moved} of 40 at 0.01 (model) against ${split.current.birds_moved} at ${own} (model) ` +
          `(${test.candidate_only} birds moved by it alone, 0 by the current model alone: exact McNemar p = ` +
          `${test.p_value.toPrecision(2)})`,
      );
      // The same weights at the same bird budget, each at the threshold it certifies on the held-out birds: the
      // same airplanes caught, and 3 held-out birds are far too few to certify 1%.
      expect(plain.at_budget).toMatchObject({
        birds: 3,
        airplanes: 3,
        certifiable: false,
        more_birds_needed: 227,
        verdict: 'too few to tell',
        mcnemar: { current_only: 0, candidate_only: 0, p_value: 1 },
      });
      expect(plain.at_budget!.current.threshold).toBe(plain.at_budget!.candidate.threshold);

      // The config sets a camera threshold: the current model runs at it on the club's shots (the report split has
      // no camera: the model's own); the candidate at its own, and under --keep-thresholds at the camera's too.
      writeFileSync(file, JSON.stringify({ cameras: [{ ...camera, threshold: 0.5 }], model: shipped }));
      const kept = await compareModels(loadConfig({ file }), shipped, worse, held, reportSplit, 0.01);
      expect(kept.config_thresholds).toEqual(["camera 'garden' threshold 0.5"]);
      expect(kept.club_held_out.current.threshold_used).toBe("0.5 (camera 'garden')");
      expect(kept.club_held_out.candidate.threshold_used).toBe('0.01 (model)');
      expect(kept.club_held_out.candidate_kept_thresholds).toMatchObject({
        threshold_used: "0.5 (camera 'garden')",
        birds_moved: kept.club_held_out.current.birds_moved,
        airplanes_caught: kept.club_held_out.current.airplanes_caught,
      });
      expect(kept.report_split.candidate_kept_thresholds!.threshold_used).toBe('0.01 (model)');
      expect(promotionBlockers(kept, true)).toEqual([
        expect.stringMatching(/^it moves more birds on the CIFAR report split: /),
      ]);
    } finally {
      dirs.cleanup();
    }
  }, 60_000);
});

describe('the held-out split', () => {
  const shot = (i: number, label: 'airplane' | 'bird'): ClubShot => ({
    decision_id: i,
    sha256: null,
    key: `sha-${label}-${i}`,
    camera: 'garden',
    label,
    source: 'correction',
    time_ms: i,
    current_path: `/x/${i}.jpg`,
  });

  it('keeps every shot in its part as new labels arrive, and holds out about the share asked for per class', () => {
    const first = [...Array(60).keys()].map((i) => shot(i, i % 2 ? 'bird' : 'airplane'));
    const more = [...first, ...[...Array(140).keys()].map((i) => shot(100 + i, i % 2 ? 'bird' : 'airplane'))];
    const a = splitShots(first, 0.3, 0);
    const b = splitShots(more, 0.3, 0);
    const heldB = new Set(b.heldOut.map((s) => s.key));
    for (const s of a.heldOut) expect(heldB.has(s.key)).toBe(true);
    for (const s of a.fineTune) expect(heldB.has(s.key)).toBe(false);
    for (const label of ['airplane', 'bird']) {
      const held = b.heldOut.filter((s) => s.label === label).length;
      expect(held).toBeGreaterThan(15); // 30% of 100 is 30; a hash gives about that
      expect(held).toBeLessThan(45);
    }
    // Another seed, another split.
    expect(splitShots(more, 0.3, 1).heldOut.map((s) => s.key)).not.toEqual(b.heldOut.map((s) => s.key));
  });

  it('never moves a held-out shot to the fine-tune part: a small class under the share holds none out yet', () => {
    // Bird shots in arrival order; find the first that falls under the share (fraction 0.3, seed 0).
    const birds = [...Array(40).keys()].map((i) => shot(i, 'bird'));
    const under = birds.findIndex((s) => heldOutHash(s.key, 0) < 0.3);
    expect(under).toBeGreaterThanOrEqual(2); // the case the old fallback handled: k0, k1 arrive, neither under
    const early = splitShots(birds.slice(0, under), 0.3, 0);
    expect(early.heldOut).toEqual([]); // none held out yet (retrain refuses and says why)
    for (let n = under; n <= birds.length; n++) {
      const later = splitShots(birds.slice(0, n), 0.3, 0);
      const held = new Set(later.heldOut.map((s) => s.key));
      for (let m = 1; m < n; m++) {
        for (const s of splitShots(birds.slice(0, m), 0.3, 0).heldOut) expect(held.has(s.key), s.key).toBe(true);
      }
    }
    expect(splitShots(birds.slice(0, under + 1), 0.3, 0).heldOut.map((s) => s.key)).toEqual([birds[under]!.key]);
  });
});

describe('config: birdBudget and retrain', () => {
  const load = (body: Record<string, unknown>) => {
    const dirs = makeTestDirs('bw-loop-config-');
    const file = join(dirs.root, 'c.json');
    writeFileSync(file, JSON.stringify({ watch: dirs.watch, airplanes: dirs.airplanes, ...body }));
    try {
      return loadConfig({ file });
    } finally {
      dirs.cleanup();
    }
  };

  it('defaults to 1% of birds, 20 new corrections, no automatic promotion', () => {
    const config = load({});
    expect(config.birdBudget).toBe(0.01);
    expect(config.retrain.minNewCorrections).toBe(20);
    expect(config.retrain.autoPromote).toBe(false);
    expect(config.retrain.candidates).toMatch(/models\/candidates$/);
  });

  it('retrain.autoPromote never promotes while the config sets a threshold (top level or camera); says why', () => {
    const dirs = makeTestDirs('bw-loop-auto-');
    try {
      const camera = { name: 'garden', watch: dirs.watch, airplanes: dirs.airplanes };
      expect(
        autoPromoteBlocker(loadConfig({ flags: { watch: dirs.watch, airplanes: dirs.airplanes } }), true),
      ).toBeNull();
      expect(
        autoPromoteBlocker(loadConfig({ flags: { watch: dirs.watch, airplanes: dirs.airplanes } }), false),
      ).toMatch(/does not pass the promotion rule/);
      for (const [body, named] of [
        [{ threshold: 0.7, cameras: [camera] }, 'threshold 0.7'],
        [{ cameras: [{ ...camera, threshold: 0.6 }] }, "camera 'garden' threshold 0.6"],
      ] as const) {
        const file = join(dirs.root, 'c.json');
        writeFileSync(file, JSON.stringify(body));
        expect(autoPromoteBlocker(loadConfig({ file }), true)).toBe(
          `the config sets ${named}, calibrated for the ` +
            'installed model: promote it by hand with --drop-thresholds or --keep-thresholds',
        );
      }
    } finally {
      dirs.cleanup();
    }
  });

  it('reads them, per camera too, and refuses bad values naming the key', () => {
    const config = load({ birdBudget: 0.02, retrain: { candidates: 'cand', minNewCorrections: 5, autoPromote: true } });
    expect(config.birdBudget).toBe(0.02);
    expect(config.retrain).toMatchObject({ minNewCorrections: 5, autoPromote: true });
    expect(() => load({ birdBudget: 1 })).toThrow(/'birdBudget' in .* must be a share of birds above 0 and below 1/);
    expect(() => load({ birdBudget: '1%' })).toThrow(ConfigError);
    expect(() => load({ retrain: { autoPromote: 'maybe' } })).toThrow(
      /'retrain.autoPromote' in .* must be true or false/,
    );
    expect(() => load({ retrain: { minNewCorrection: 5 } })).toThrow(/unknown key 'minNewCorrection' in 'retrain'/);
    expect(() => load({ retrain: 7 })).toThrow(/'retrain' in .* must be an object/);
  });
});

describe('config/birdwatch-retrain.service and .timer', () => {
  const service = join(REPO, 'config', 'birdwatch-retrain.service');
  const timer = join(REPO, 'config', 'birdwatch-retrain.timer');

  it('pass systemd-analyze verify with no warning; the service is sandboxed (exposure printed)', () => {
    const verify = spawnSync('systemd-analyze', ['verify', service, timer], { encoding: 'utf8' });
    expect(verify.status, `systemd-analyze verify:\n${verify.stdout}${verify.stderr}`).toBe(0);
    expect(`${verify.stdout}${verify.stderr}`.trim(), 'warnings from verify').toBe('');
    const sec = spawnSync('systemd-analyze', ['security', '--offline=true', service], { encoding: 'utf8' });
    const overall = `${sec.stdout}${sec.stderr}`.match(/Overall exposure level for \S+: ([\d.]+) (\S+)/);
    const score = overall ? `${overall[1]} ${overall[2]}` : '(no score)';
    console.log(`[figures] birdwatch-retrain.service systemd-analyze security --offline: ${score}`);
    expect(overall, sec.stdout + sec.stderr).not.toBeNull();
    expect(Number(overall![1])).toBeLessThanOrEqual(2);
  });

  it("run retrain --scheduled weekly, never promoting by themselves (that is the config's retrain.autoPromote)", () => {
    const text = readFileSync(service, 'utf8');
    expect(text).toMatch(
      /^ExecStart=\/usr\/bin\/node \/opt\/birdwatch\/dist\/cli.js retrain --scheduled --config \/etc\/birdwatch\/config.json$/m,
    );
    expect(text).toMatch(/^Type=oneshot$/m);
    // No network and no home: CIFAR-10 comes from a cache in the state folder the service may write.
    expect(text).toMatch(/^PrivateNetwork=yes$/m);
    expect(text).toMatch(/^StateDirectory=birdwatch$/m);
    expect(text).toMatch(/^Environment=BIRDWATCH_CACHE=\/var\/lib\/birdwatch\/cache$/m);
    const cacheScript = 'from birdwatch_training import data; print(data.default_cache_dir())';
    const cacheDir = spawnSync('/usr/bin/python3', ['-c', cacheScript], {
      cwd: join(REPO, 'training'),
      encoding: 'utf8',
      env: { ...process.env, HOME: '/nonexistent', BIRDWATCH_CACHE: '/var/lib/birdwatch/cache' },
    });
    expect(cacheDir.stdout.trim(), cacheDir.stderr).toBe('/var/lib/birdwatch/cache');
    expect(text).not.toMatch(/cli\.js promote/);
    const timerText = readFileSync(timer, 'utf8');
    expect(timerText).toMatch(/^OnCalendar=weekly$/m);
    expect(timerText).toMatch(/^Unit=birdwatch-retrain.service$/m);
  });
});
