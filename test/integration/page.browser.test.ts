/**
 * End to end in a real browser: Debian's headless Chromium, driven by
 * playwright-core, opens examples/browser/ served from localhost and waits
 * for the page's own success signal. Needs /usr/bin/chromium (.ci/run
 * installs it) and the browser builds (npm run test:browser makes them).
 */
import * as fs from 'fs';
import * as path from 'path';

import {chromium} from 'playwright-core';
import type {Browser} from 'playwright-core';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const {serve} = require('../../scripts/serve.js') as {serve: (port?: number) => Promise<{server: import('http').Server; url: string}>};

const ROOT = path.resolve(__dirname, '..', '..');
const EXECUTABLE = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--no-first-run'];
// WebGPU on SwiftShader's software adapter (no GPU needed; not a speed claim).
const WEBGPU_FLAGS = ['--headless=new', '--no-sandbox', '--enable-unsafe-webgpu', '--enable-features=Vulkan',
  '--use-vulkan=swiftshader', '--use-webgpu-adapter=swiftshader', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--no-first-run'];

let server: import('http').Server;
let base: string;

beforeAll(async () => {
  if (!fs.existsSync(EXECUTABLE)) {
    throw new Error(`Chromium not found at ${EXECUTABLE}: install Debian's chromium package (apt-get install chromium).`);
  }
  ({server, url: base} = await serve(0));
});

afterAll(async () => {
  await new Promise((r) => server?.close(r));
});

test('the script-tag builds exclude tfjs and expose the plugin; the core carries no Keras reader', () => {
  const core = fs.readFileSync(path.join(ROOT, 'dist/browser/tfjs-drop-path.min.js'), 'utf8');
  const keras = fs.readFileSync(path.join(ROOT, 'dist/browser/tfjs-drop-path.keras.min.js'), 'utf8');
  const timm = fs.readFileSync(path.join(ROOT, 'dist/browser/tfjs-drop-path.timm.min.js'), 'utf8');
  // tfjs itself is megabytes; the core with seedrandom is about 90 KiB, with fflate and the Keras bridge about 148 KiB,
  // with the timm reader about 105 KiB.
  expect(core.length).toBeLessThan(110000);
  expect(keras.length).toBeLessThan(190000);
  expect(timm.length).toBeLessThan(130000);
  for (const text of [core, keras, timm]) expect(text).toMatch(/var tfdp=/);
  expect(core).not.toMatch(/loadKerasModel|loadTimmModel|model\.weights\.h5|worker_threads/);
  expect(keras).toMatch(/loadKerasModel/);
  expect(timm).toMatch(/loadTimmModel/);
});

describe.each([
  ['webgl', '', FLAGS, ['webgl', 'cpu']],
  ['webgpu', '?backend=webgpu', WEBGPU_FLAGS, ['webgpu']],
] as const)('examples/browser on %s', (name, query, flags, backends) => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await chromium.launch({executablePath: EXECUTABLE, args: [...flags]});
  });
  afterAll(async () => {
    await browser?.close();
  });

  test('trains (dense and conv + BatchNorm blocks, skip and mask, row and batch), saves to indexeddb:// and localstorage://, reloads identical', async () => {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
    page.on('console', (m) => { if (m.type() === 'error') errors.push(`console: ${m.text()}`); });
    page.on('response', (r) => { if (r.status() >= 400) errors.push(`HTTP ${r.status()}: ${r.url()}`); });
    await page.goto(`${base}/examples/browser/${query}`);
    await page.waitForFunction(() => document.body.dataset.status !== 'running', undefined, {timeout: 240000});
    const result = await page.evaluate(() => (window as unknown as {__tfdpResult: Record<string, unknown>}).__tfdpResult);
    fs.mkdirSync(path.join(ROOT, 'runs', 'browser'), {recursive: true});
    await page.screenshot({path: path.join(ROOT, 'runs', 'browser', `page-${name}.png`), fullPage: true});
    fs.writeFileSync(path.join(ROOT, 'runs', 'browser', `result-${name}.json`), JSON.stringify(result, null, 2));
    expect(errors).toEqual([]);
    expect(result.error).toBeUndefined();
    expect(backends as readonly string[]).toContain(result.backend);
    expect(result.lastLoss as number).toBeLessThan(0.5 * (result.firstLoss as number));
    expect(result).toMatchObject({ok: true, opRowsOk: true, indexeddbMatch: true, localstorageMatch: true, indexeddbMaxDiff: 0,
      localstorageMaxDiff: 0, indexeddbClasses: ['StochasticResidual', 'DropPath'],
      localstorageClasses: ['StochasticResidual', 'DropPath']});
    const blocks = result.convBlocks as Record<string, Record<string, boolean>>;
    expect(Object.keys(blocks).sort()).toEqual(['mask/batch', 'mask/row', 'skip/batch', 'skip/row']);
    for (const r of Object.values(blocks)) expect(r).toEqual({finite: true, weightsChanged: true, movingMeanChanged: true});
    expect(await page.textContent('#status')).toMatch(new RegExp(`success on backend (${backends.join('|')})`));
    await page.close();
  });
});

/**
 * Opens examples/browser/<page>.html in its own Chromium, waits for the page's own verdict and returns the result
 * object it leaves in window[global], with every page error and failed request it saw; saves a screenshot.
 */
async function runExamplePage(page: string, global: string): Promise<{result: Record<string, unknown>; errors: string[]}> {
  const browser = await chromium.launch({executablePath: EXECUTABLE, args: FLAGS});
  try {
    const tab = await browser.newPage();
    const errors: string[] = [];
    tab.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
    tab.on('response', (r) => { if (r.status() >= 400) errors.push(`HTTP ${r.status()}: ${r.url()}`); });
    await tab.goto(`${base}/examples/browser/${page}.html`);
    await tab.waitForFunction(() => document.body.dataset.status !== 'running', undefined, {timeout: 120000});
    const result = await tab.evaluate((name) => (window as unknown as Record<string, Record<string, unknown>>)[name] as Record<string, unknown>,
      global);
    fs.mkdirSync(path.join(ROOT, 'runs', 'browser'), {recursive: true});
    await tab.screenshot({path: path.join(ROOT, 'runs', 'browser', `page-${page}.png`), fullPage: true});
    return {result, errors};
  } finally {
    await browser.close();
  }
}

test('examples/browser/keras.html: a Keras 3 .keras file loads in the browser (URL and File), predicts as Keras, trains, saves back; bad files give clear errors', async () => {
  const {result, errors} = await runExamplePage('keras', '__tfdpKeras');
  expect(result.error).toBeUndefined();
  expect(result.brokenError).toMatch(/bad_h5\.keras'\): model\.weights\.h5 could not be read as HDF5/);
  expect(result.hostileError).toMatch(/external_storage_etc_passwd\.keras'\): .*the file points outside itself, at "\/etc\/passwd"/);
  expect(result.noUrlError).toMatch(/in the browser, model\.weights\.h5 is handled by h5wasm in a Web Worker: pass \{h5wasmUrl\}/);
  expect(result.diffSaved).toBe(0);
  expect(result.savedBytes as number).toBeGreaterThan(100000);
  expect(result.ok).toBe(true);
  expect(errors).toEqual([]);
});

test('examples/browser/timm.html: timm checkpoints load in the browser (URL and File) with timm\'s predictions, fine-tune with AdamW; a damaged file is refused', async () => {
  const {result, errors} = await runExamplePage('timm', '__tfdpTimm');
  expect(result.error).toBeUndefined();
  expect(result.deit3_small as number).toBeLessThan(1e-4);
  expect(result.convnext_atto as number).toBeLessThan(1e-4);
  expect(result.rates).toEqual([0, 0, 0.05, 0.05, 0.1, 0.1]);
  expect(result.brokenError).toMatch(/model\.safetensors: tensor '.*' ends at byte \d+ of the data, past its end/);
  expect(result.ok).toBe(true);
  expect(errors).toEqual([]);
});
