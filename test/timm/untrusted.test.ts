/**
 * A timm checkpoint is untrusted input: every rule of the safetensors format
 * is checked before a tensor is read, sizes are bounded before anything is
 * allocated, the config's architecture and arguments are taken only where
 * they are known, and every tensor must find its weight (and every weight its
 * tensor). Each refusal names what was expected and what arrived.
 */
import * as cp from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import {loadTimmModel, readSafetensors} from '../../timm';
import {tf} from '../utils/tf';

const DIR = path.join(__dirname, '..', 'fixtures', 'timm');
const config = () => JSON.parse(fs.readFileSync(path.join(DIR, 'vit_tiny', 'config.json'), 'utf8')) as Record<string, unknown>;
const weights = () => new Uint8Array(fs.readFileSync(path.join(DIR, 'vit_tiny', 'model.safetensors')));

/** A safetensors file from a header object and the data bytes (the header's length as the format writes it). */
function file(header: unknown, data: Uint8Array = new Uint8Array(0), length?: bigint): Uint8Array {
  const text = new TextEncoder().encode(typeof header === 'string' ? header : JSON.stringify(header));
  const out = new Uint8Array(8 + text.length + data.length);
  new DataView(out.buffer).setBigUint64(0, length ?? BigInt(text.length), true);
  out.set(text, 8);
  out.set(data, 8 + text.length);
  return out;
}
const f32 = (n: number) => new Uint8Array(new Float32Array(n).buffer);
const read = (bytes: Uint8Array) => readSafetensors(bytes, 1e8, 'model.safetensors');

describe('the safetensors header', () => {
  test('a well-formed file reads, float16 and bfloat16 exactly', () => {
    const data = new Uint8Array([0x00, 0x3c, 0x00, 0xc0, 0x80, 0x3f, 0x00, 0x00, 0x80, 0x3f]); // f16 1, -2; bf16 1; f32 1
    const s = read(file({__metadata__: {format: 'pt'}, a: {dtype: 'F16', shape: [2], data_offsets: [0, 4]},
      b: {dtype: 'BF16', shape: [1], data_offsets: [4, 6]}, c: {dtype: 'F32', shape: [], data_offsets: [6, 10]}}, data));
    expect(Array.from(s.read('a'))).toEqual([1, -2]);
    expect(Array.from(s.read('b'))).toEqual([1]);
    expect(s.metadata).toEqual({format: 'pt'});
  });

  test.each([
    ['too short', new Uint8Array(4), /4 bytes is too short for a safetensors file/],
    ['a header longer than the file', file({}, new Uint8Array(0), 1000n), /declares 1000 bytes, but the file has only 2/],
    ['a header of 2^40 bytes', file({}, new Uint8Array(0), 2n ** 40n), /declares 1099511627776 bytes, more than the limit maxHeaderBytes/],
    ['not UTF-8', file('{\u0000}').map((b, i) => (i === 9 ? 0xff : b)), /the header is not UTF-8 text/],
    ['not JSON', file('{"a": '), /the header is not valid JSON/],
    ['a JSON array', file('[]'), /must be a JSON object starting with '\{'/],
    ['an unknown dtype', file({a: {dtype: 'I64', shape: [1], data_offsets: [0, 8]}}, new Uint8Array(8)),
      /tensor 'a' has dtype "I64"; the dtypes read are F32, F16, BF16, F64/],
    ['an unknown field', file({a: {dtype: 'F32', shape: [1], data_offsets: [0, 4], path: '/etc/passwd'}}, f32(1)), /tensor 'a' has unknown field 'path'/],
    ['a negative dimension', file({a: {dtype: 'F32', shape: [-1], data_offsets: [0, 4]}}, f32(1)), /shape of at most 8 non-negative integers/],
    ['offsets past the data', file({a: {dtype: 'F32', shape: [4], data_offsets: [0, 16]}}, f32(1)), /ends at byte 16 of the data, past its end \(4 bytes\)/],
    ['a shape its bytes do not fill', file({a: {dtype: 'F32', shape: [2, 3], data_offsets: [0, 4]}}, f32(1)),
      /shape \[2,3\] of F32 takes 24 bytes, but its data_offsets span 4/],
    ['overlapping tensors', file({a: {dtype: 'F32', shape: [2], data_offsets: [0, 8]}, b: {dtype: 'F32', shape: [1], data_offsets: [4, 8]}}, f32(2)),
      /tensor 'b' \(bytes 4–8\) overlaps the tensor before it/],
    ['a hole', file({a: {dtype: 'F32', shape: [1], data_offsets: [4, 8]}}, f32(2)), /bytes 0–4 of the data belong to no tensor/],
    ['bytes after the last tensor', file({a: {dtype: 'F32', shape: [1], data_offsets: [0, 4]}}, f32(3)), /8 bytes belong to no tensor/],
    ['metadata that is not strings', file({__metadata__: {n: 1}}), /__metadata__ must map strings to strings/],
  ] as const)('%s: refused', (_what, bytes, message) => {
    expect(() => read(bytes as Uint8Array)).toThrow(message);
  });
});

describe('loadTimmModel refuses what it would not read as timm does', () => {
  const load = (cfg: Record<string, unknown>, w: Uint8Array = weights(), opts = {}) => loadTimmModel({config: cfg, weights: w}, opts);

  test.each([
    ['an architecture it does not build', {...config(), architecture: 'swin_tiny_patch4_window7_224'},
      /architecture 'swin_tiny_patch4_window7_224' is not one this package builds; it reads vit_tiny_patch16_224, .*convnext_base/],
    ['a model argument it does not read', {...config(), model_args: {...(config().model_args as object), qk_norm: true}},
      /model_args 'qk_norm' of 'vit_tiny_patch16_224' is not read by this package's vit .* so the model would differ from timm's/],
    ["global_pool '' (a token sequence out)", {...config(), model_args: {...(config().model_args as object), global_pool: ''}},
      /global_pool '' \(no pooling/],
    ['no num_classes', {architecture: 'vit_tiny_patch16_224'}, /num_classes must be a positive integer \(a model with a head\)/],
    ['a config of 2^20-wide tokens for a small file', {...config(), model_args: {...(config().model_args as object), embed_dim: 2 ** 20, num_heads: 1}},
      /layer 'patch_embed_proj' would create the weight 'kernel' of shape \[8,8,3,1048576\].* where the file holds only 67,013 weight values/],
  ] as const)('%s', async (_what, cfg, message) => {
    await expect(load(cfg as Record<string, unknown>)).rejects.toThrow(message);
  });

  test('a tensor with no place, a weight with no tensor, a transposed tensor: all named in one error', async () => {
    const s = read(weights());
    const header: Record<string, unknown> = {};
    const parts: Uint8Array[] = [];
    let at = 0;
    const add = (name: string, shape: number[], values: Float32Array) => {
      const bytes = new Uint8Array(values.buffer.slice(0));
      header[name] = {dtype: 'F32', shape, data_offsets: [at, at + bytes.length]};
      parts.push(bytes);
      at += bytes.length;
    };
    for (const [name, e] of s.entries) {
      if (name === 'norm.bias') continue; // missing
      if (name === 'head.weight') add(name, [48, 5], s.read(name)); // transposed
      else add(name, e.shape, s.read(name));
    }
    add('reg_token', [1, 4, 48], new Float32Array(192)); // timm's register tokens: a variant not built
    const data = new Uint8Array(at);
    let o = 0;
    for (const p of parts) { data.set(p, o); o += p.length; }
    const tensors = tf.memory().numTensors;
    await expect(load(config(), file(header, data))).rejects.toThrow(new RegExp(
      "tensor 'head.weight' has shape \\[48,5\\] \\(timm's layout\\), but layer 'head' needs kernel of shape \\[48,5\\] \\(as \\[5,48\\] once converted\\).*" +
      '1 tensor of the file has no place in the model \\(a variant this package does not build\\): reg_token.*' +
      'the file has no tensor for norm/beta'));
    expect(tf.memory().numTensors).toBe(tensors); // the model and the tensors read are disposed
  });

  test('sizes are bounded before reading; options and sources are checked', async () => {
    await expect(load(config(), weights(), {maxFileBytes: 1000})).rejects.toThrow(/model.safetensors is 270732 bytes, more than the limit maxFileBytes \(1000 bytes\)/);
    await expect(loadTimmModel(path.join(DIR, 'vit_tiny'), {maxConfigBytes: 10})).rejects.toThrow(/config.json' is \d+ bytes, more than the limit maxConfigBytes/);
    await expect(loadTimmModel(path.join(DIR, 'vit_tiny'), {dropPathrate: 0.1} as never)).rejects.toThrow(/unknown key 'dropPathrate'.*did you mean 'dropPathRate'/);
    await expect(loadTimmModel(42 as never)).rejects.toThrow(/source must be a checkpoint folder \(a path or URL\) or \{config, weights\}, but received 42/);
    await expect(loadTimmModel(path.join(DIR, 'nothing_here'))).rejects.toThrow(/cannot read '.*nothing_here\/config.json' \(ENOENT\)/);
  });

  test('a FIFO in place of model.safetensors is refused at once, not waited on', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tfdp-timm-'));
    try {
      fs.copyFileSync(path.join(DIR, 'vit_tiny', 'config.json'), path.join(dir, 'config.json'));
      cp.execFileSync('mkfifo', [path.join(dir, 'model.safetensors')]);
      const started = Date.now();
      await expect(loadTimmModel(dir)).rejects.toThrow(/is not a regular file \(a folder, a FIFO or a device\), so it is not read/);
      expect(Date.now() - started).toBeLessThan(5000);
    } finally {
      fs.rmSync(dir, {recursive: true, force: true});
    }
  });
});
