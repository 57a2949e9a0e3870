// Multi-view inference, the Node side of training/views.py: the views a model carries (its `preprocessing` metadata,
// a copy of config/preprocessing.json at training time, `"views"`; absent = the image as is) and how each view is
// made from a prepared 3x32x32 CHW tensor. The model is run on every view and the softmax probabilities averaged
// (src/model/load.ts). Both views commute with the per-channel normalization, so they apply to the normalized tensor.
import { ModelError } from './errors.js';

export const VIEWS = ['identity', 'mirror'] as const;
export type ViewName = (typeof VIEWS)[number];

const CHANNELS = 3;
const SIZE = 32;
const PLANE = SIZE * SIZE;
export const VIEW_TENSOR_LENGTH = CHANNELS * PLANE;

/**
 * The views in a model's metadata_props: `preprocessing` (JSON) `views`, a non-empty list of known names. A model
 * without `preprocessing`, or whose preprocessing has no `views`, is run on the image as is. Anything else is a
 * ModelError naming the key, so the model is refused (at start, by classify, at a hot swap).
 */
export function viewsOf(props: Record<string, string>, path: string): ViewName[] {
  const raw = props.preprocessing;
  if (raw === undefined) return ['identity'];
  const fail = (why: string): never => {
    throw new ModelError(`model ${path}: metadata 'preprocessing' ${why}`);
  };
  let spec: unknown;
  try {
    spec = JSON.parse(raw);
  } catch {
    return fail(`is not valid JSON: ${JSON.stringify(raw.slice(0, 80))}`);
  }
  if (spec === null || typeof spec !== 'object' || Array.isArray(spec)) return fail('is not a JSON object');
  const views = (spec as { views?: unknown }).views;
  if (views === undefined) return ['identity'];
  if (!Array.isArray(views) || views.length === 0 || !views.every((v) => typeof v === 'string')) {
    return fail(`views must be a non-empty list of view names, got ${JSON.stringify(views)}`);
  }
  const unknown = views.filter((v) => !(VIEWS as readonly string[]).includes(v));
  if (unknown.length > 0) {
    fail(
      `views ${JSON.stringify(views)}: unknown view ${unknown.map((v) => JSON.stringify(v)).join(', ')} ` +
        `(this birdwatch knows ${VIEWS.join(', ')})`,
    );
  }
  return views as ViewName[];
}

/** Whether `views` is the image as is, once: the model's input is the prepared tensors themselves. */
export function isIdentityOnly(views: readonly ViewName[]): boolean {
  return views.length === 1 && views[0] === 'identity';
}

/**
 * Writes view `name` of `tensor` (3x32x32 CHW) into `out` at `offset`. identity: the tensor as is; mirror: flipped
 * left-right, column x -> 31 - x in every row of every channel.
 */
export function writeView(tensor: Float32Array, name: ViewName, out: Float32Array, offset: number): void {
  if (name === 'identity') {
    out.set(tensor, offset);
    return;
  }
  for (let row = 0; row < CHANNELS * SIZE; row++) {
    const base = row * SIZE;
    for (let x = 0; x < SIZE; x++) out[offset + base + x] = tensor[base + SIZE - 1 - x]!;
  }
}

/** View `name` of `tensor` as a new array. */
export function applyView(tensor: Float32Array, name: ViewName): Float32Array {
  const out = new Float32Array(VIEW_TENSOR_LENGTH);
  writeView(tensor, name, out, 0);
  return out;
}
