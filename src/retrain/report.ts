// The report written beside each candidate (CANDIDATE.json): what it was compared with, on which images, with
// which figures, and what the promotion rule says. Read back by promote and `birdwatch models`.
import type { Comparison, LabelledFile } from './compare.js';

export interface RetrainReport {
  candidate: { path: string; id: string; sha256: string; threshold: number; created_at: string | null };
  current: { path: string; id: string; sha256: string; threshold: number };
  bird_budget: number;
  comparison: Comparison;
  blockers: string[];
  promotable: boolean;
  notes: string[];
  labels: {
    held_out: Record<string, number>;
    fine_tune: Record<string, number>;
    confident: number;
    missing_files: number;
    labels_until_ms: number;
  };
  split: { seed: number; held_out_fraction: number; rule: string };
  held_out_shots: Array<{ decision_id: number; key: string; label: string; path: string }>;
  report_split: { images: number; files: LabelledFile[] };
  training: unknown;
}

export const REPORT_SPLIT_NOTE =
  'The CIFAR report split is the validation split of the training subproject: the ' +
  "shipped model's epoch and threshold were chosen on it, so the current model's figures there are optimistic; " +
  "neither model trained on it. The club's held-out shots are the honest measure of this camera.";
