// The /stats histogram's threshold markers, by the daemon's rule (src/model/thresholds.ts): filtered to a camera, that
// camera's threshold; unfiltered, one marker when every camera runs at the same threshold, else one per camera; none
// for a camera the config does not know, or a model that cannot be read.
import type { Config } from '../config/index.js';
import { resolveThreshold, ThresholdError } from '../model/thresholds.js';
import type { ModelInfo } from './model-card.js';

export interface Marker {
  at: number;
  label: string;
}

export function thresholdMarkers(config: Config, model: ModelInfo, camera: string | undefined): Marker[] {
  // The model's metadata as the daemon checks it (web/model-card.ts); one it would refuse: the config's threshold.
  if (model.error !== null || model.checked === null) {
    return config.threshold === undefined ? [] : [{ at: config.threshold, label: label(config.threshold) }];
  }
  const file = { ...model.checked, path: model.file, metadata: model.metadata };
  const cameras = camera === undefined ? config.cameras : config.cameras.filter((c) => c.name === camera);
  const markers: Marker[] = [];
  for (const c of cameras) {
    try {
      markers.push({ at: resolveThreshold(config, c, file).threshold, label: c.name });
    } catch (err) {
      if (!(err instanceof ThresholdError)) throw err; // a curve that cannot answer: the daemon refuses the model
    }
  }
  if (markers.length > 0 && markers.every((m) => m.at === markers[0]!.at)) {
    return [{ at: markers[0]!.at, label: label(markers[0]!.at) }];
  }
  return markers.map((m) => ({ at: m.at, label: `${m.label} ${m.at.toFixed(2)}` }));
}

const label = (threshold: number): string => `threshold ${threshold.toFixed(2)}`;
