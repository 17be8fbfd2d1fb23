/**
 * Argument checks shared by the op and the layers. Every message names the
 * argument, what was expected and what arrived; nothing is clamped silently.
 */
import type {Tensor} from '@tensorflow/tfjs-core';

export type DropMode = 'row' | 'batch';
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

/** A drop probability: a finite number in [0, 1]. */
export function checkRate(rate: unknown, where = 'rate'): number {
  if (typeof rate !== 'number' || !Number.isFinite(rate) || rate < 0 || rate > 1) {
    throw new Error(
        `${where} must be a finite number in [0, 1] (the probability of dropping ` +
        `a sample's branch), but received ${describe(rate)}.`);
  }
  return rate;
}

export function checkMode(mode: unknown, where = 'mode'): DropMode {
  if (!(DROP_MODES as readonly unknown[]).includes(mode)) {
    throw new Error(
        `${where} must be one of ${DROP_MODES.map((m) => `'${m}'`).join(', ')}, ` +
        `but received ${describe(mode)}.`);
  }
  return mode as DropMode;
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
