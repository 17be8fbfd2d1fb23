/**
 * Per-block drop rates: pure functions of (depth, rate), no tensors. Each
 * returns one rate per residual block, in depth order (index 0 is the block
 * nearest the input).
 */
import {checkRate, describe} from '../internal/validate';

/** A per-block schedule: the rates of `depth` blocks for a given maximum rate. */
export type DepthSchedule = (depth: number, maxRate: number) => number[];

function checkDepth(depth: unknown, where: string): number {
  if (typeof depth !== 'number' || !Number.isInteger(depth) || depth < 1) {
    throw new Error(`${where}: depth must be a positive integer (the number of blocks), but received ${describe(depth)}.`);
  }
  return depth;
}

/**
 * Huang et al. 2016's linear decay: block l of L (1-based) drops with
 * probability l / L · maxRate, so the last block has maxRate (p_L) and the
 * first maxRate / L.
 *
 * @example
 * schedules.linear(4, 0.5); // [0.125, 0.25, 0.375, 0.5]
 */
export function linear(depth: number, maxRate: number): number[] {
  checkDepth(depth, 'schedules.linear');
  checkRate(maxRate, 'schedules.linear: maxRate');
  return Array.from({length: depth}, (_, i) => ((i + 1) / depth) * maxRate);
}

/**
 * The timm / ConvNeXt / Swin form, `linspace(0, maxRate, depth)`: evenly from
 * 0 (first block, never dropped) to maxRate (last block). With one block the
 * result is `[0]`, as `torch.linspace(0, r, 1)` gives.
 *
 * @example
 * schedules.linspace(5, 0.4); // [0, 0.1, 0.2, 0.3, 0.4]
 */
export function linspace(depth: number, maxRate: number): number[] {
  checkDepth(depth, 'schedules.linspace');
  checkRate(maxRate, 'schedules.linspace: maxRate');
  if (depth === 1) return [0];
  return Array.from({length: depth}, (_, i) => (i / (depth - 1)) * maxRate);
}

/**
 * The same rate for every block (DINOv2, DeiT III).
 *
 * @example
 * schedules.uniform(3, 0.1); // [0.1, 0.1, 0.1]
 */
export function uniform(depth: number, rate: number): number[] {
  checkDepth(depth, 'schedules.uniform');
  checkRate(rate, 'schedules.uniform: rate');
  return new Array<number>(depth).fill(rate);
}

/** The built-in schedules by name. */
export const depthSchedules = {linear, linspace, uniform} as const;
export type DepthScheduleName = keyof typeof depthSchedules;

/**
 * Resolves a schedule given by name, as a function, or as explicit rates, to
 * `depth` validated rates.
 */
export function blockRates(
    schedule: DepthScheduleName | DepthSchedule | readonly number[], depth: number,
    maxRate: number, where = 'schedule'): number[] {
  let rates: unknown;
  if (typeof schedule === 'string') {
    const fn = (depthSchedules as Record<string, DepthSchedule>)[schedule];
    if (!fn) {
      throw new Error(`${where} must be one of ${Object.keys(depthSchedules).map((s) => `'${s}'`).join(', ')}, ` +
        `a function (depth, maxRate) => rates, or an array of rates, but received ${describe(schedule)}.`);
    }
    rates = fn(depth, maxRate);
  } else if (typeof schedule === 'function') {
    rates = schedule(depth, maxRate);
  } else if (Array.isArray(schedule)) {
    rates = [...schedule];
  } else {
    throw new Error(`${where} must be a schedule name, a function or an array of rates, but received ${describe(schedule)}.`);
  }
  if (!Array.isArray(rates) || rates.length !== depth) {
    throw new Error(`${where} must give one rate per block (${depth}), but gave ${describe(rates)}.`);
  }
  return rates.map((r, i) => checkRate(r, `${where}: rate of block ${i}`));
}
