/**
 * Argument checks shared by the op and the layers. Every message names the
 * argument, what was expected and what arrived; nothing is clamped silently.
 */
import type {Tensor} from '@tensorflow/tfjs-core';

import type {DropMode} from '../types';

export type {DropMode};
export const DROP_MODES: readonly DropMode[] = ['row', 'batch'];

/** Renders a received value for an error message. */
export function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' ||
      value === null || value === undefined || typeof value === 'bigint') {
    return String(value);
  }
  if (Array.isArray(value)) return `an array of length ${value.length}`;
  if (typeof value === 'function') return 'a function';
  const name = (value as {constructor?: {name?: string}}).constructor?.name;
  return name ? `a ${name} object` : 'an object';
}

/**
 * An optional argument. The one rule for null, everywhere in this package:
 * leaving an argument out (or passing undefined) gives its default; null means
 * "none" and is accepted only where an argument can be none (`activation`,
 * `shortcut`, `stem`, `seed`) — anywhere else it is an error that names the
 * argument, never a silent default.
 */
export function optional<T>(value: T | null | undefined, fallback: T, where: string): T {
  if (value === null) {
    throw new Error(`${where} must not be null: leave it out (or pass undefined) for the default, ${describe(fallback)}.`);
  }
  return value === undefined ? fallback : value;
}

/** A drop probability: a finite number in [0, 1]; `dropped` names what it drops (in the message). */
export function checkRate(rate: unknown, where = 'rate', dropped = "a sample's branch"): number {
  if (typeof rate !== 'number' || !Number.isFinite(rate) || rate < 0 || rate > 1) {
    throw new Error(
        `${where} must be a finite number in [0, 1] (the probability of dropping ` +
        `${dropped}), but received ${describe(rate)}.`);
  }
  return rate;
}

/** One of a few allowed values (modes, strategies, block types…), or an error listing them and naming what arrived. */
export function checkOneOf<T extends string>(value: unknown, allowed: readonly T[], where: string): T {
  if (!(allowed as readonly unknown[]).includes(value)) {
    throw new Error(`${where} must be one of ${allowed.map((a) => `'${a}'`).join(', ')}, but received ${describe(value)}.`);
  }
  return value as T;
}

export function checkMode(mode: unknown, where = 'mode'): DropMode {
  return checkOneOf(mode, DROP_MODES, where);
}

export function checkBoolean(value: unknown, where: string): boolean {
  if (typeof value !== 'boolean') {
    throw new Error(`${where} must be a boolean (true or false), but received ${describe(value)}.`);
  }
  return value;
}

/** A seed: a safe integer, or undefined for an unseeded stream. */
export function checkSeed(seed: unknown, where = 'seed'): number | undefined {
  if (seed === undefined || seed === null) return undefined;
  if (typeof seed !== 'number' || !Number.isSafeInteger(seed)) {
    throw new Error(`${where} must be an integer (or undefined for no seed), but received ${describe(seed)}.`);
  }
  return seed;
}

/** The input of a drop: a float32 tensor of rank >= 1 (axis 0 is the batch). */
export function checkInput(x: unknown, where = 'x'): Tensor {
  const t = x as Partial<Tensor> | null | undefined;
  if (t === null || t === undefined || typeof t !== 'object' ||
      typeof t.rank !== 'number' || typeof t.dtype !== 'string') {
    throw new Error(`${where} must be a tf.Tensor, but received ${describe(x)}.`);
  }
  if (t.dtype !== 'float32') {
    throw new Error(
        `${where} must be a float32 tensor (drop path rescales values), but received ` +
        `a tensor of dtype '${t.dtype}'.`);
  }
  if (t.rank < 1) {
    throw new Error(
        `${where} must have rank >= 1 with the batch on axis 0, but received a ` +
        'rank-0 (scalar) tensor.');
  }
  return x as Tensor;
}

/** Levenshtein distance, for "did you mean" in unknown-key errors. */
function editDistance(a: string, b: string): number {
  const row = Array.from({length: b.length + 1}, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0] as number;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j] as number;
      row[j] = Math.min(above + 1, (row[j - 1] as number) + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length] as number;
}

/** The known key nearest to `key` (case-insensitive edit distance), if any is near enough to be a typo of it. */
export function nearest(key: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const k of known) {
    const d = editDistance(key.toLowerCase(), k.toLowerCase());
    if (d < bestDistance) {
      best = k;
      bestDistance = d;
    }
  }
  return best !== undefined && bestDistance <= Math.max(2, Math.floor(best.length / 3)) ? best : undefined;
}

/**
 * An argument object: a plain object (or undefined, for `{}`) whose keys are
 * all known. An unknown key — a typo such as `dropPathRat` — is an error
 * naming it and the nearest known key: a misspelt option must not silently
 * leave its default in place. `where` names the object (`resnet(args)`).
 */
export function checkKeys<T extends object>(args: T | null | undefined, known: readonly string[], where: string): T {
  if (args === undefined) return {} as T;
  if (args === null || typeof args !== 'object' || Array.isArray(args)) {
    throw new Error(`${where} must be an object, but received ${describe(args)}.`);
  }
  const unknown = Object.keys(args).filter((k) => !known.includes(k));
  if (unknown.length) {
    const said = unknown.map((k) => {
      const near = nearest(k, known);
      return `'${k}'${near ? ` (did you mean '${near}'?)` : ''}`;
    });
    throw new Error(`${where} has unknown key${unknown.length === 1 ? '' : 's'} ${said.join(', ')}; the known keys are ` +
      `${[...known].sort().join(', ')}.`);
  }
  return args;
}

/**
 * The arguments every tfjs layer takes (`LayerArgs` of tfjs-layers 4.22) and
 * the config keys its `getConfig` / `fromConfig` carry: a layer of this
 * package accepts them beside its own.
 */
export const TFJS_LAYER_ARGS: readonly string[] = ['inputShape', 'batchInputShape', 'batchSize', 'dtype', 'name',
  'trainable', 'weights', 'inputDType',
  // tfjs-layers' deserializer adds the registry of custom classes to every config it builds a layer from.
  'customObjects'];

/** A positive integer (a count, a size, a width). */
export function checkPositiveInt(value: unknown, where: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new Error(`${where} must be a positive integer, but received ${describe(value)}.`);
  }
  return value;
}

/** A positive number of bytes, items or times, up to `max`, or undefined for the default. */
export function checkLimit(value: unknown, where: string, max: number, integer = true): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0 || value > max || (integer && !Number.isInteger(value))) {
    throw new Error(`${where} must be a${integer ? ' positive integer' : ' positive finite number'} no larger than ${max}, but ` +
      `received ${describe(value)}.`);
  }
  return value;
}
