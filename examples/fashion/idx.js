/**
 * A reader of IDX files — the format of MNIST and Fashion-MNIST
 * (train-images-idx3-ubyte, …), plain or gzip-compressed — and a loader of
 * Fashion-MNIST's four files from one folder.
 *
 * IDX: two zero bytes, a type byte (0x08 unsigned byte, 0x09 signed byte,
 * 0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64), a rank byte, then that
 * many big-endian uint32 dimensions, then the values, big-endian, row-major.
 * The file must hold exactly that many values: a short, long or malformed
 * file is refused with what was expected and what was found.
 *
 * Where the files are: FASHION_MNIST_DIR when set; otherwise Debian's
 * dataset-fashion-mnist package (`apt-get install dataset-fashion-mnist`,
 * /usr/share/datasets/fashion-mnist). Downloaded files work the same: put
 * train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz,
 * t10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz (or the same names
 * without .gz) in one folder and set FASHION_MNIST_DIR to it.
 */
'use strict';
const {Buffer} = require('buffer');
const fs = require('fs');
const path = require('path');
const zlib = require('zlib');

const DEBIAN_DIR = '/usr/share/datasets/fashion-mnist';
/** Fashion-MNIST's ten classes, by label. */
const FASHION_CLASSES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];

const TYPES = {
  0x08: {name: 'uint8', bytes: 1, read: (b, o) => b[o]},
  0x09: {name: 'int8', bytes: 1, read: (b, o) => b.readInt8(o)},
  0x0b: {name: 'int16', bytes: 2, read: (b, o) => b.readInt16BE(o)},
  0x0c: {name: 'int32', bytes: 4, read: (b, o) => b.readInt32BE(o)},
  0x0d: {name: 'float32', bytes: 4, read: (b, o) => b.readFloatBE(o)},
  0x0e: {name: 'float64', bytes: 8, read: (b, o) => b.readDoubleBE(o)},
};
/** Larger than any MNIST-family file (train images: 47 MB decompressed), small enough to refuse a gzip bomb. */
const DEFAULT_MAX_BYTES = 256 * 2 ** 20;

/**
 * Parses IDX bytes (already decompressed). Returns {type, dims, data}: data a
 * Uint8Array for uint8 files (a view of the bytes), otherwise a typed array of the values.
 */
function parseIdx(bytes, where = 'IDX data') {
  const b = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (b.length < 4) throw new Error(`${where}: expected at least a 4-byte IDX header, but the data has ${b.length} bytes.`);
  if (b[0] !== 0 || b[1] !== 0) {
    throw new Error(`${where}: expected an IDX file (starting with two zero bytes), but it starts with 0x${b.subarray(0, 4).toString('hex')}` +
      (b[0] === 0x1f && b[1] === 0x8b ? ' (gzip data: decompress it, or give the .gz file to readIdx)' : '') + '.');
  }
  const type = TYPES[b[2]];
  if (!type) {
    throw new Error(`${where}: expected an IDX type byte of 0x08, 0x09, 0x0B, 0x0C, 0x0D or 0x0E, but received 0x${b[2].toString(16).padStart(2, '0')}.`);
  }
  const rank = b[3];
  if (rank < 1) throw new Error(`${where}: expected an IDX rank of at least 1, but received ${rank}.`);
  const headerBytes = 4 + 4 * rank;
  if (b.length < headerBytes) {
    throw new Error(`${where}: the header declares ${rank} dimensions (${headerBytes} header bytes), but the data has ${b.length} bytes.`);
  }
  const dims = Array.from({length: rank}, (_, i) => b.readUInt32BE(4 + 4 * i));
  const count = dims.reduce((a, d) => a * d, 1);
  const want = headerBytes + count * type.bytes;
  if (b.length !== want) {
    throw new Error(`${where}: dimensions [${dims.join(', ')}] of ${type.name} need ${want} bytes, but the data has ${b.length}.`);
  }
  if (type.bytes === 1 && type.name === 'uint8') return {type: type.name, dims, data: new Uint8Array(b.buffer, b.byteOffset + headerBytes, count)};
  const Out = {int8: Int8Array, int16: Int16Array, int32: Int32Array, float32: Float32Array, float64: Float64Array}[type.name];
  const data = new Out(count);
  for (let i = 0; i < count; i++) data[i] = type.read(b, headerBytes + i * type.bytes);
  return {type: type.name, dims, data};
}

/** Reads an IDX file, gzip-compressed (by its first bytes, whatever its name) or plain, of at most maxBytes decompressed. */
function readIdx(file, {maxBytes = DEFAULT_MAX_BYTES} = {}) {
  const st = fs.statSync(file);
  if (!st.isFile()) throw new Error(`readIdx: expected a regular file, but ${file} is not one.`);
  let bytes = fs.readFileSync(file);
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      bytes = zlib.gunzipSync(bytes, {maxOutputLength: maxBytes});
    } catch (e) {
      throw new Error(`readIdx: ${file} is not valid gzip data within ${maxBytes} bytes: ${e.message}`);
    }
  } else if (bytes.length > maxBytes) {
    throw new Error(`readIdx: ${file} has ${bytes.length} bytes, more than the limit of ${maxBytes}.`);
  }
  return parseIdx(bytes, file);
}

/** The folder with Fashion-MNIST's files: FASHION_MNIST_DIR, else Debian's package folder. */
function fashionMnistDir() {
  return process.env.FASHION_MNIST_DIR || DEBIAN_DIR;
}

function findFile(dir, base) {
  for (const name of [`${base}.gz`, base]) {
    const f = path.join(dir, name);
    if (fs.existsSync(f)) return f;
  }
  throw new Error(`Fashion-MNIST: no ${base}.gz or ${base} in ${dir}. Install Debian's package (apt-get install ` +
    'dataset-fashion-mnist) or put the four IDX files in a folder and set FASHION_MNIST_DIR to it.');
}

/** One split: images [n, 28, 28] uint8 and labels [n] uint8 (0–9), checked against each other. */
function readSplit(dir, prefix) {
  const images = readIdx(findFile(dir, `${prefix}-images-idx3-ubyte`));
  const labels = readIdx(findFile(dir, `${prefix}-labels-idx1-ubyte`));
  if (images.type !== 'uint8' || images.dims.length !== 3 || images.dims[1] !== 28 || images.dims[2] !== 28) {
    throw new Error(`Fashion-MNIST ${prefix} images: expected uint8 [n, 28, 28], but received ${images.type} [${images.dims}].`);
  }
  if (labels.type !== 'uint8' || labels.dims.length !== 1 || labels.dims[0] !== images.dims[0]) {
    throw new Error(`Fashion-MNIST ${prefix} labels: expected uint8 [${images.dims[0]}], but received ${labels.type} [${labels.dims}].`);
  }
  const bad = labels.data.findIndex((l) => l > 9);
  if (bad >= 0) throw new Error(`Fashion-MNIST ${prefix} labels: expected 0–9, but label ${bad} is ${labels.data[bad]}.`);
  return {images: images.data, labels: labels.data, count: images.dims[0]};
}

/** Fashion-MNIST's training (60,000) and test (10,000) sets from `dir`. */
function loadFashionMnist(dir = fashionMnistDir()) {
  return {train: readSplit(dir, 'train'), test: readSplit(dir, 't10k'), dir};
}

module.exports = {parseIdx, readIdx, loadFashionMnist, fashionMnistDir, FASHION_CLASSES, DEBIAN_DIR};
