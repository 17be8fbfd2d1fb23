/**
 * Time schedules for the drop rate: pure functions of training progress.
 * `t` is the epoch, 0-based; with per-batch updates it is fractional
 * (epoch + batch / stepsPerEpoch) when the steps per epoch are known.
 */
import {checkRate, describe} from '../internal/validate';

/** A drop rate as a function of progress (epoch, 0-based) and the batch index. */
export type TimeSchedule = (t: number, batch: number) => number;

function checkEpochs(epochs: unknown, where: string): number {
  if (typeof epochs !== 'number' || !Number.isFinite(epochs) || epochs <= 0) {
    throw new Error(`${where}: epochs must be a positive number, but received ${describe(epochs)}.`);
  }
  return epochs;
}

/** The same rate throughout. */
export function constant(rate: number): TimeSchedule {
  checkRate(rate, 'timeSchedules.constant: rate');
  return () => rate;
}

/**
 * From 0 up to `rate` linearly over the first `epochs` epochs, then `rate`
 * (as MosaicML Composer's `drop_warmup`).
 */
export function linearWarmup(rate: number, epochs: number): TimeSchedule {
  checkRate(rate, 'timeSchedules.linearWarmup: rate');
  checkEpochs(epochs, 'timeSchedules.linearWarmup');
  return (t) => rate * Math.min(1, Math.max(0, t) / epochs);
}

/**
 * Early stochastic depth (Liu et al. 2023, "Dropout Reduces Underfitting",
 * arXiv 2303.01500): `rate` for the first `epochs` epochs, then 0.
 */
export function early(rate: number, epochs: number): TimeSchedule {
  checkRate(rate, 'timeSchedules.early: rate');
  checkEpochs(epochs, 'timeSchedules.early');
  return (t) => (t < epochs ? rate : 0);
}

/** Late stochastic depth (Liu et al. 2023): 0 for the first `epochs` epochs, then `rate`. */
export function late(rate: number, epochs: number): TimeSchedule {
  checkRate(rate, 'timeSchedules.late: rate');
  checkEpochs(epochs, 'timeSchedules.late');
  return (t) => (t < epochs ? 0 : rate);
}
