import {schedules} from '../../index';
import {blockRates} from '../../src/schedules';

describe('depth schedules: golden values', () => {
  test.each([
    ['linear', 4, 0.5, [0.125, 0.25, 0.375, 0.5]],
    ['linear', 1, 0.3, [0.3]],
    ['linear', 3, 0, [0, 0, 0]],
    ['linspace', 5, 0.4, [0, 0.1, 0.2, 0.3, 0.4]],
    ['linspace', 2, 0.2, [0, 0.2]],
    ['linspace', 1, 0.3, [0]], // as torch.linspace(0, r, 1): no division by zero
    ['uniform', 3, 0.1, [0.1, 0.1, 0.1]],
    ['uniform', 1, 1, [1]],
  ] as const)('%s(%i, %f)', (name, depth, rate, expected) => {
    const got = schedules[name](depth, rate);
    expect(got).toHaveLength(expected.length);
    got.forEach((r, i) => expect(r).toBeCloseTo(expected[i] as number, 12));
  });

  test('Huang et al.: the last block gets exactly p_L, block l gets l/L * p_L', () => {
    const rates = schedules.linear(54, 0.5); // ResNet-110 has 54 residual blocks
    expect(rates[53]).toBe(0.5);
    expect(rates[26]).toBeCloseTo((27 / 54) * 0.5, 15);
  });

  test.each([
    [() => schedules.linear(0, 0.1), /schedules\.linear: depth must be a positive integer.*received 0/],
    [() => schedules.linspace(2.5, 0.1), /schedules\.linspace: depth must be a positive integer.*received 2\.5/],
    [() => schedules.uniform(3, 1.2), /schedules\.uniform: rate must be a finite number in \[0, 1\].*received 1\.2/],
    [() => schedules.linear(3, -0.1), /maxRate must be a finite number in \[0, 1\].*received -0\.1/],
  ])('bad input %#', (fn, message) => {
    expect(fn).toThrow(message);
  });
});

describe('blockRates', () => {
  test('accepts a name, a function and explicit rates', () => {
    expect(blockRates('uniform', 2, 0.2)).toEqual([0.2, 0.2]);
    expect(blockRates((d, r) => new Array(d).fill(r / 2), 2, 0.2)).toEqual([0.1, 0.1]);
    expect(blockRates([0, 0.5], 2, 0.9)).toEqual([0, 0.5]);
  });

  test.each([
    ['cosine', /schedule must be one of 'linear', 'linspace', 'uniform'.*received "cosine"/],
    [[0.1], /must give one rate per block \(2\), but gave an array of length 1/],
    [[0.1, 2], /rate of block 1 must be a finite number in \[0, 1\].*received 2/],
    [42, /must be a schedule name, a function or an array of rates, but received 42/],
  ])('rejects %j', (schedule, message) => {
    expect(() => blockRates(schedule as never, 2, 0.1)).toThrow(message);
  });
});
