/**
 * The Fashion-MNIST evidence's data path (examples/fashion/idx.js: IDX files,
 * plain or gzip, checked against their header) and the evidence command in a
 * seconds-long form. The real data is Debian's dataset-fashion-mnist package
 * (.ci/run installs it and sets TFDP_REQUIRE_FASHION_MNIST=1, so that its
 * absence fails there); elsewhere those tests say they were skipped.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as zlib from 'zlib';

import {runNode} from '../utils/run_node';
import {unexpectedStderr} from '../utils/stderr';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const idx = require('../../examples/fashion/idx.js') as {
  parseIdx: (b: Buffer, where?: string) => {type: string; dims: number[]; data: ArrayLike<number>};
  readIdx: (f: string, o?: {maxBytes?: number}) => {type: string; dims: number[]; data: ArrayLike<number>};
  loadFashionMnist: (dir?: string) => {train: {count: number; labels: Uint8Array; images: Uint8Array}; test: {count: number; labels: Uint8Array}};
  DEBIAN_DIR: string;
};
// eslint-disable-next-line @typescript-eslint/no-require-imports
const stats = require('../../examples/fashion/stats.js') as {
  tTwoSided: (t: number, df: number) => number;
  tCritical: (df: number, level?: number) => number;
  paired: (a: number[], b: number[]) => {n: number; mean: number; lo: number | null; hi: number | null};
};

/** IDX bytes: type byte, dims, then the values' bytes. */
function idxBytes(type: number, dims: number[], values: Buffer): Buffer {
  const head = Buffer.alloc(4 + 4 * dims.length);
  head[2] = type;
  head[3] = dims.length;
  dims.forEach((d, i) => head.writeUInt32BE(d, 4 + 4 * i));
  return Buffer.concat([head, values]);
}

let dir: string;
beforeAll(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tfdp-fashion-')); });
afterAll(() => fs.rmSync(dir, {recursive: true, force: true}));

describe('parseIdx / readIdx', () => {
  test('uint8 and big-endian float32 values, with their dimensions', () => {
    const u = idx.parseIdx(idxBytes(0x08, [2, 3], Buffer.from([1, 2, 3, 4, 5, 255])));
    expect(u).toMatchObject({type: 'uint8', dims: [2, 3]});
    expect(Array.from(u.data)).toEqual([1, 2, 3, 4, 5, 255]);
    const f = Buffer.alloc(8);
    f.writeFloatBE(1.5, 0);
    f.writeFloatBE(-2, 4);
    const r = idx.parseIdx(idxBytes(0x0d, [2], f));
    expect(r.type).toBe('float32');
    expect(Array.from(r.data)).toEqual([1.5, -2]);
  });

  test('a malformed file is refused with what was expected and what arrived', () => {
    expect(() => idx.parseIdx(Buffer.from([0, 0]))).toThrow('IDX data: expected at least a 4-byte IDX header, but the data has 2 bytes.');
    expect(() => idx.parseIdx(Buffer.from([0x1f, 0x8b, 8, 0]))).toThrow(/expected an IDX file .* starts with 0x1f8b0800 \(gzip data/);
    expect(() => idx.parseIdx(idxBytes(0x07, [1], Buffer.from([1])))).toThrow('but received 0x07');
    expect(() => idx.parseIdx(Buffer.from([0, 0, 8, 0]))).toThrow('expected an IDX rank of at least 1, but received 0.');
    expect(() => idx.parseIdx(Buffer.from([0, 0, 8, 3, 0, 0]))).toThrow('the header declares 3 dimensions (16 header bytes), but the data has 6 bytes.');
    expect(() => idx.parseIdx(idxBytes(0x08, [2, 2], Buffer.from([1, 2, 3])))).toThrow('dimensions [2, 2] of uint8 need 16 bytes, but the data has 15.');
    expect(() => idx.parseIdx(idxBytes(0x08, [2], Buffer.from([1, 2, 3])))).toThrow('need 10 bytes, but the data has 11.');
    // Dimensions whose product is huge are refused by the size check, before any allocation.
    expect(() => idx.parseIdx(idxBytes(0x0e, [65535, 65535, 65535], Buffer.alloc(0)))).toThrow(/need \d+ bytes, but the data has 16/);
  });

  test('plain and gzip files read alike (by content, whatever the name); a gzip bomb stops at the limit', () => {
    const bytes = idxBytes(0x08, [4], Buffer.from([9, 8, 7, 6]));
    fs.writeFileSync(path.join(dir, 'plain'), bytes);
    fs.writeFileSync(path.join(dir, 'packed.gz'), zlib.gzipSync(bytes));
    fs.writeFileSync(path.join(dir, 'packed-no-suffix'), zlib.gzipSync(bytes));
    for (const f of ['plain', 'packed.gz', 'packed-no-suffix']) expect(Array.from(idx.readIdx(path.join(dir, f)).data)).toEqual([9, 8, 7, 6]);
    fs.writeFileSync(path.join(dir, 'bomb.gz'), zlib.gzipSync(idxBytes(0x08, [1 << 20], Buffer.alloc(1 << 20))));
    expect(() => idx.readIdx(path.join(dir, 'bomb.gz'), {maxBytes: 1 << 16})).toThrow(/bomb\.gz is not valid gzip data within 65536 bytes/);
    expect(() => idx.readIdx(path.join(dir, 'plain'), {maxBytes: 8})).toThrow('has 12 bytes, more than the limit of 8.');
    expect(() => idx.readIdx(dir)).toThrow('readIdx: expected a regular file');
  });

  test('loadFashionMnist checks the four files against each other', () => {
    const sub = path.join(dir, 'fmnist');
    fs.mkdirSync(sub);
    const write = (name: string, b: Buffer) => fs.writeFileSync(path.join(sub, name), b);
    write('train-images-idx3-ubyte', idxBytes(0x08, [2, 28, 28], Buffer.alloc(2 * 784, 3)));
    write('train-labels-idx1-ubyte.gz', zlib.gzipSync(idxBytes(0x08, [2], Buffer.from([4, 9]))));
    write('t10k-images-idx3-ubyte.gz', zlib.gzipSync(idxBytes(0x08, [1, 28, 28], Buffer.alloc(784))));
    expect(() => idx.loadFashionMnist(sub)).toThrow(/no t10k-labels-idx1-ubyte\.gz or t10k-labels-idx1-ubyte in .*apt-get install dataset-fashion-mnist/);
    write('t10k-labels-idx1-ubyte', idxBytes(0x08, [1], Buffer.from([10])));
    expect(() => idx.loadFashionMnist(sub)).toThrow('Fashion-MNIST t10k labels: expected 0–9, but label 0 is 10.');
    write('t10k-labels-idx1-ubyte', idxBytes(0x08, [2], Buffer.from([1, 2])));
    expect(() => idx.loadFashionMnist(sub)).toThrow('Fashion-MNIST t10k labels: expected uint8 [1], but received uint8 [2].');
    write('t10k-labels-idx1-ubyte', idxBytes(0x08, [1], Buffer.from([1])));
    const d = idx.loadFashionMnist(sub);
    expect([d.train.count, d.test.count, Array.from(d.train.labels)]).toEqual([2, 1, [4, 9]]);
  });
});

describe('the evidence tables\' statistics (examples/fashion/stats.js)', () => {
  test('Student t: textbook quantiles and tail probabilities', () => {
    // Two-sided 95% points (any t table) and the normal limit.
    const table: Array<[number, number]> = [[1, 12.706], [2, 4.303], [3, 3.182], [4, 2.776], [5, 2.571], [10, 2.228], [30, 2.042], [120, 1.980]];
    for (const [df, t] of table) expect(stats.tCritical(df)).toBeCloseTo(t, 3);
    expect(stats.tCritical(1e6)).toBeCloseTo(1.95996, 4);
    expect(stats.tCritical(4, 0.99)).toBeCloseTo(4.604, 3);
    expect(stats.tTwoSided(2.0, 5)).toBeCloseTo(0.1019, 4);
    expect(stats.tTwoSided(0, 3)).toBeCloseTo(1, 12);
    // At 1 df, t is Cauchy: P(|T| ≥ t) = 1 − 2·atan(t)/π exactly.
    for (const t of [0.3, 1, 7]) expect(stats.tTwoSided(t, 1)).toBeCloseTo(1 - (2 * Math.atan(t)) / Math.PI, 10);
    expect(() => stats.tCritical(0)).toThrow('expected df ≥ 1 and 0 < level < 1, but received 0, 0.95.');
  });

  test('paired differences: mean and 95% interval of a − b over the pairs', () => {
    // d = [0.5, 1, 0.1]: mean 0.5333, sd 0.4509, half-width 4.3027 · 0.4509 / √3 = 1.1202.
    const p = stats.paired([1, 2, 3], [0.5, 1, 2.9]);
    expect(p.n).toBe(3);
    expect(p.mean).toBeCloseTo(0.53333, 5);
    expect(p.lo).toBeCloseTo(0.53333 - 1.12016, 4);
    expect(p.hi).toBeCloseTo(0.53333 + 1.12016, 4);
    // A constant shift has a zero-width interval; one pair has none.
    expect(stats.paired([3, 4, 5], [1, 2, 3])).toMatchObject({mean: 2, lo: 2, hi: 2});
    expect(stats.paired([3], [1])).toEqual({n: 1, mean: 2, lo: null, hi: null});
    expect(() => stats.paired([1, 2], [1])).toThrow('expected two equal, non-empty lists, but received 2 and 1 values.');
  });
});

const real = process.env.FASHION_MNIST_DIR || idx.DEBIAN_DIR;
const present = fs.existsSync(path.join(real, 't10k-labels-idx1-ubyte.gz')) || fs.existsSync(path.join(real, 't10k-labels-idx1-ubyte'));
const required = process.env.TFDP_REQUIRE_FASHION_MNIST === '1';
if (!present && !required) {
  console.warn(`fashion_evidence: Fashion-MNIST not found in ${real} (apt-get install dataset-fashion-mnist): its tests are skipped.`);
}
const withData = present || required ? describe : describe.skip;

withData(`Fashion-MNIST itself (${real})`, () => {
  test('60,000 training and 10,000 test images of 28×28, labels 0–9, 1,000 test images per class', () => {
    const d = idx.loadFashionMnist(real);
    expect([d.train.count, d.test.count, d.train.images.length]).toEqual([60000, 10000, 60000 * 784]);
    expect(Array.from(d.train.labels.subarray(0, 10))).toEqual([9, 0, 0, 3, 0, 2, 7, 2, 5, 5]); // the file's known first labels
    const perClass = new Array(10).fill(0);
    d.test.labels.forEach((l) => perClass[l]++);
    expect(perClass).toEqual(new Array(10).fill(1000));
  });

  test('npm run evidence in a seconds-long form: both models, every configuration, two seeds; tables, JSON and chart', () => {
    const out = path.join(dir, 'evidence');
    const r = runNode(['examples/fashion/evidence.js', '--train', '256', '--test', '200', '--epochs', '3', '--seeds', '1,2', '--out', out,
      '--models', 'resnet,vit'], {env: {FASHION_MNIST_DIR: real}, timeout: 200_000});
    expect(unexpectedStderr(r.stderr)).toEqual([]);
    expect(r.status).toBe(0);
    const result = JSON.parse(fs.readFileSync(path.join(out, 'evidence.json'), 'utf8'));
    expect(result.runs).toHaveLength(16);
    expect(new Set(result.runs.map((x: {model: string; config: string}) => `${x.model}/${x.config}`)).size).toBe(8);
    for (const run of result.runs) {
      expect(run.epochs).toHaveLength(3);
      expect(run.testAccuracy).toBeGreaterThan(0);
      expect(run.epochs[2].wallSeconds).toBeGreaterThan(run.epochs[0].wallSeconds);
    }
    // Early drop path: at the model's rate for the first epoch (3 / 3), then off.
    const early = result.runs.find((x: {model: string; config: string}) => x.model === 'vit' && x.config === 'early');
    expect(early.epochs.map((e: {rate: number}) => e.rate)).toEqual([0.1, 0, 0]);
    const md = fs.readFileSync(path.join(out, 'evidence.md'), 'utf8');
    expect(md).toMatch(/## bottleneck ResNet \(6 blocks\), drop path 0\.2[\s\S]*\| StochasticResidual 'skip' \| [\d.]+ ± [\d.]+ \(/);
    expect(md).toMatch(/## ViT \(dim 64, 6 blocks, patch 4\), drop path 0\.1[\s\S]*\| DropPath, early \(first 1 epochs\) \|/);
    expect(md).toContain('--train 256 --test 200 --epochs 3');
    // The paired columns: the run minus no drop path on each seed, from the JSON.
    const acc = (model: string, config: string) => result.runs.filter((x: {model: string; config: string}) => x.model === model && x.config === config)
      .sort((a: {seed: number}, b: {seed: number}) => a.seed - b.seed).map((x: {testAccuracy: number}) => 100 * x.testAccuracy);
    const d = stats.paired(acc('resnet', 'mask'), acc('resnet', 'none'));
    const sign = (v: number) => `${v >= 0 ? '+' : '−'}${Math.abs(v).toFixed(2)}`;
    expect(md).toContain(`| ${sign(d.mean)} [${sign(d.lo as number)}, ${sign(d.hi as number)}] |`);
    expect(md).toMatch(/\| no drop path \|[^\n]*\| — \| — \| — \|\n/);
    expect(fs.readFileSync(path.join(out, 'evidence-chart.png')).subarray(1, 4).toString()).toBe('PNG');
    // --resume with the same settings has nothing left to run; with others it refuses.
    const again = runNode(['examples/fashion/evidence.js', '--train', '256', '--test', '200', '--epochs', '3', '--seeds', '1,2', '--out', out,
      '--models', 'resnet,vit', '--resume'], {env: {FASHION_MNIST_DIR: real}});
    expect(again.status).toBe(0);
    expect(again.stdout).toContain('resuming: 16 runs already in');
    expect(again.stdout).not.toContain('== resnet');
    const other = runNode(['examples/fashion/evidence.js', '--train', '300', '--test', '200', '--epochs', '3', '--seeds', '1,2', '--out', out,
      '--resume'], {env: {FASHION_MNIST_DIR: real}});
    expect(other.status).toBe(2);
    expect(other.stderr).toContain('was made with other settings');
    // --report rewrites the tables from the JSON and keeps a hand-written reading.
    fs.appendFileSync(path.join(out, 'evidence.md'), '\n## Reading\n\nkept by --report\n');
    const report = runNode(['examples/fashion/evidence.js', '--report', '--out', out]);
    expect(report.status).toBe(0);
    expect(report.stdout).toContain('from 16 runs');
    const md2 = fs.readFileSync(path.join(out, 'evidence.md'), 'utf8');
    expect(md2.startsWith(md.trimEnd())).toBe(true);
    expect(md2.endsWith('## Reading\n\nkept by --report\n')).toBe(true);
  }, 240_000);
});
