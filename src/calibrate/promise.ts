// Where each camera stands with the club's promise (at most the bird budget of its birds moved, at the configured
// confidence), for the web page and `birdwatch stats`: the threshold it runs with, what the random-review labels on
// the serving model's decisions say about it (birds moved and airplanes caught, with intervals), whether it is
// certified or how many more reviews it needs, and the history of its threshold.
import type { Config } from '../config/schema.js';
import type { Db } from '../db/open.js';
import { latestThresholds, listThresholdChanges } from '../db/threshold-changes.js';
import { resolveThreshold, ThresholdError, type ThresholdModel } from '../model/thresholds.js';
import { moreBirdsNeeded, shareInterval, upperBound, type ShareInterval } from './bound.js';
import { budgetOf, shotsForBirds } from './calibrate.js';
import { reviewEvidence, strataToWeigh, sampleLabels, type ReviewDesign } from './labels.js';
import { moreReviewsNeeded, stratifiedShare, stratifiedUpperBound, type Strata } from './stratified.js';

export interface CameraPromise {
  camera: string;
  budget: number;
  confidence: number;
  threshold: number;
  /** pinned: the camera's own threshold in the config; calibrated: set by the daemon's calibration; config: the
   *  config's or the model's. */
  threshold_from: 'pinned' | 'calibrated' | 'config';
  /** Randomly reviewed shots (birds and airplanes) the serving model decided on this camera. */
  reviewed: number;
  birds: number;
  airplanes: number;
  certified: boolean;
  /** Upper bound on the share of the camera's birds the threshold moves. */
  bound: number;
  more_birds_needed: number;
  /** Random shots still to review: at the share of birds among the reviewed ones (every shot when none is known);
   *  as the stratified review draws them, when it does. */
  more_shots_needed: number;
  /** How the reviewed shots were drawn (src/calibrate/stratified.ts): the intervals are then weighed back. */
  design: ReviewDesign;
  /** Share of the way to certification: birds reviewed / (reviewed + still needed); shots, when stratified. */
  progress: number;
  birds_moved: ShareInterval;
  airplanes_caught: ShareInterval;
  history: Array<{ time_ms: number; threshold: number; certified: boolean }>;
  /** The state in one sentence a member reads in ten seconds. */
  statement: string;
}

const pct = (share: number): string => `${+(share * 100).toFixed(2)}%`;

/** One camera's standing, from its labelled scores and the threshold it runs with (pure). */
export function promiseOf(
  camera: string,
  birds: readonly number[],
  planes: readonly number[],
  threshold: number,
  from: CameraPromise['threshold_from'],
  budget: number,
  confidence: number,
  history: CameraPromise['history'] = [],
  strata?: Strata,
): CameraPromise {
  const n = birds.length;
  const k = birds.filter((p) => p >= threshold).length;
  const caught = planes.filter((p) => p >= threshold).length;
  const bound = strata ? stratifiedUpperBound(strata, threshold, confidence) : upperBound(k, n, confidence);
  const certified = bound <= budget;
  let moreBirds: number;
  let moreShots: number;
  let reviewed: number;
  if (strata) {
    reviewed = strata.high.reviewed + strata.low.reviewed;
    const highK = strata.high.birdScores.filter((p) => p >= threshold).length;
    const more = certified ? { reviews: 0, birds: 0 } : moreReviewsNeeded(strata, highK, budget, confidence);
    moreBirds = more.birds;
    moreShots = more.reviews;
  } else {
    reviewed = n + planes.length;
    moreBirds = certified ? 0 : moreBirdsNeeded(k, n, budget, confidence);
    moreShots = shotsForBirds(moreBirds, n, reviewed);
  }
  let statement: string;
  if (certified) {
    statement =
      `certified: at most ${pct(budget)} of birds moved, ${pct(confidence)} confidence, from ${reviewed} ` +
      'reviewed shots';
  } else if (k === 0) {
    statement = `not yet measured on this camera: review ${moreShots} more random shots`;
  } else {
    statement =
      `not kept yet: ${k} of ${n} reviewed birds are at or above the threshold (up to ${pct(bound)} of ` +
      `birds may be moved); review ${moreShots} more random shots`;
  }
  return {
    camera,
    budget,
    confidence,
    threshold,
    threshold_from: from,
    reviewed,
    birds: n,
    airplanes: planes.length,
    certified,
    bound,
    more_birds_needed: moreBirds,
    more_shots_needed: moreShots,
    design: strata ? 'stratified' : 'uniform',
    progress: certified ? 1 : strata ? reviewed / (reviewed + moreShots) : n / (n + moreBirds),
    birds_moved: strata ? stratifiedShare(strata, threshold, 'bird', confidence) : shareInterval(k, n, confidence),
    airplanes_caught: strata
      ? stratifiedShare(strata, threshold, 'airplane', confidence)
      : shareInterval(caught, planes.length, confidence),
    history,
    statement,
  };
}

/** Every configured camera's standing for the serving model. */
export function clubPromise(config: Config, db: Db, model: ThresholdModel & { id: string }): CameraPromise[] {
  const labels = sampleLabels(db, model.id);
  const evidence = reviewEvidence(db, model.id);
  const latest = config.calibration.auto ? latestThresholds(db, model.id) : new Map();
  const changes = listThresholdChanges(db).filter((c) => c.model_id === model.id);
  return config.cameras.map((camera) => {
    let threshold: number;
    let from: CameraPromise['threshold_from'];
    if (camera.threshold !== undefined) {
      threshold = camera.threshold;
      from = 'pinned';
    } else if (latest.has(camera.name)) {
      threshold = latest.get(camera.name)!.new_threshold;
      from = 'calibrated';
    } else {
      try {
        threshold = resolveThreshold(config, camera, model).threshold;
      } catch (err) {
        if (!(err instanceof ThresholdError)) throw err;
        threshold = model.threshold;
      }
      from = 'config';
    }
    const mine = labels.filter((l) => l.camera === camera.name);
    const scores = (label: string): number[] => mine.filter((l) => l.label === label).map((l) => l.p_airplane);
    const history = changes
      .filter((c) => c.camera === camera.name)
      .map((c) => ({ time_ms: c.time_ms, threshold: c.new_threshold, certified: c.certified === 1 }));
    return promiseOf(
      camera.name,
      scores('bird'),
      scores('airplane'),
      threshold,
      from,
      budgetOf(config, camera.name),
      config.calibration.confidence,
      history,
      strataToWeigh(evidence, camera.name, config.calibration.sampling),
    );
  });
}
