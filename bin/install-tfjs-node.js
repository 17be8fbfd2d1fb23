#!/usr/bin/env node
/**
 * Installs the native binding of @tensorflow/tfjs-node (and/or
 * @tensorflow/tfjs-node-gpu) on machines that cannot reach the CDN its own
 * install script downloads libtensorflow from.
 *
 * Route, per package found in node_modules:
 *   1. already built and loadable        -> nothing to do;
 *   2. the package's own install script  -> used when it works (CDN reachable);
 *   3. offline route: take libtensorflow from the TensorFlow Python wheel
 *      (`pip download --no-deps tensorflow-cpu==2.21.0`, or a wheel file given
 *      with --wheel / TFJS_TF_WHEEL), stage it under the package's deps/ and
 *      build the binding from source with node-gyp.
 *   4. neither works                     -> a message saying what was tried.
 *
 * Run on purpose, never as an install script (from the project whose
 * node_modules holds tfjs-node):
 *   npx tfjs-drop-path install-tfjs-node
 *        [--root DIR] [--package NAME]... [--wheel FILE] [--offline] [--force] [--quiet]
 * --root DIR   the project folder (default: the current directory)
 * --if-root    do nothing when npm runs it for another project than --root
 * Environment: TFJS_TF_WHEEL (wheel file), TFJS_TF_WHEEL_SPEC (pip spec,
 * default tensorflow-cpu==2.21.0), TFJS_INSTALL_OFFLINE=1 (skip step 2).
 */
'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');
const cp = require('child_process');

let ROOT = process.cwd();
const DEFAULT_PACKAGES = ['@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu'];
const DEFAULT_WHEEL_SPEC = 'tensorflow-cpu==2.21.0';
const LIBTF_VERSION = '2.9.1'; // the soname tfjs-node 4.x links against

function parseArgs(argv) {
  const opts = {packages: [], wheel: process.env.TFJS_TF_WHEEL || '',
    offline: process.env.TFJS_INSTALL_OFFLINE === '1', force: false,
    quiet: false, ifRoot: false, staged: new Map()};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--package') opts.packages.push(argv[++i]);
    else if (a === '--wheel') opts.wheel = argv[++i];
    else if (a === '--offline') opts.offline = true;
    else if (a === '--force') opts.force = true;
    else if (a === '--quiet') opts.quiet = true;
    else if (a === '--if-root') opts.ifRoot = true;
    else if (a === '--root') ROOT = path.resolve(argv[++i] || '.');
    else if (a === '--help' || a === '-h') {
      console.log(fs.readFileSync(__filename, 'utf8').split('*/')[0]);
      process.exit(0);
    } else {
      console.error(`install-tfjs-node: unknown argument "${a}". ` +
        'Expected --root DIR, --package NAME, --wheel FILE, --offline, --force, --quiet, --if-root.');
      process.exit(2);
    }
  }
  return opts;
}

const log = (...m) => console.error('[tfjs-drop-path install]', ...m);

function packageDir(name) {
  try {
    return path.dirname(require.resolve(`${name}/package.json`, {paths: [ROOT]}));
  } catch {
    return null;
  }
}

/** Spawns a fresh node that loads the package; returns the backend or null. */
function probe(name) {
  const code = `const tf=require(${JSON.stringify(name)});` +
    'process.stdout.write(String(tf.getBackend()));';
  const r = cp.spawnSync(process.execPath, ['-e', code],
    {cwd: ROOT, encoding: 'utf8', timeout: 120000});
  return r.status === 0 ? r.stdout.trim() : null;
}

function nodedir() {
  if (process.env.npm_config_nodedir) return process.env.npm_config_nodedir;
  const r = cp.spawnSync('npm', ['config', 'get', 'nodedir'],
    {encoding: 'utf8', cwd: ROOT});
  const v = (r.stdout || '').trim();
  if (r.status === 0 && v && v !== 'undefined' && v !== 'null') return v;
  // Headers that ship with this node (Debian/nodesource put them in /usr).
  const guess = path.resolve(path.dirname(process.execPath), '..');
  return fs.existsSync(path.join(guess, 'include', 'node', 'node_api.h')) ?
    guess : '';
}

function buildEnv() {
  const env = {...process.env};
  env.PATH = [path.join(ROOT, 'node_modules', '.bin'), env.PATH].join(path.delimiter);
  const nd = nodedir();
  if (nd) env.npm_config_nodedir = nd;
  return env;
}

/** Runs the package's own scripts/install.js (CDN download + prebuilt addon). */
function ordinaryInstall(dir, kind, quiet) {
  const r = cp.spawnSync(process.execPath, ['scripts/install.js', kind],
    {cwd: dir, env: buildEnv(), encoding: 'utf8', timeout: 15 * 60 * 1000});
  if (!quiet && r.status !== 0) {
    const tail = `${r.stdout || ''}${r.stderr || ''}`.trim().split('\n')
      .filter((l) => /Error|error/.test(l)).slice(0, 2).join(' | ');
    log(`ordinary install failed: ${tail || `exit ${r.status}`}`);
  }
  return r.status === 0;
}

function cacheDir() {
  const base = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(base, 'tfjs-drop-path');
}

function findPython() {
  for (const py of ['python3', 'python']) {
    const r = cp.spawnSync(py, ['--version'], {encoding: 'utf8'});
    if (r.status === 0) return py;
  }
  return null;
}

/**
 * The pip requirement to download: TFJS_TF_WHEEL_SPEC or the default. Only a
 * plain `name==version` of a TensorFlow package is taken — the value goes to
 * pip, where anything starting with '-' would be an option (an index URL, a
 * config file).
 */
function wheelSpec() {
  const spec = process.env.TFJS_TF_WHEEL_SPEC || DEFAULT_WHEEL_SPEC;
  if (!/^tensorflow(-cpu|-intel|-aarch64)?==\d+\.\d+\.\d+$/.test(spec)) {
    throw new Error(`TFJS_TF_WHEEL_SPEC must be a TensorFlow package pinned to a version, such as ${DEFAULT_WHEEL_SPEC}, ` +
      `but is ${JSON.stringify(spec)}`);
  }
  return spec;
}

/** Returns the path of a TensorFlow wheel, downloading it with pip if needed. */
function obtainWheel(opts, py, tried) {
  if (opts.wheel) {
    if (!fs.existsSync(opts.wheel)) {
      throw new Error(`--wheel/TFJS_TF_WHEEL points to "${opts.wheel}", which does not exist`);
    }
    return path.resolve(opts.wheel);
  }
  const spec = wheelSpec();
  const dir = path.join(cacheDir(), 'wheels');
  fs.mkdirSync(dir, {recursive: true});
  const pkgName = spec.split(/[=<>~!]/)[0].replace(/-/g, '_');
  const ver = (spec.match(/==(.+)$/) || [])[1];
  const cached = fs.readdirSync(dir).find((f) => f.endsWith('.whl') &&
    f.startsWith(`${pkgName}-${ver ? ver + '-' : ''}`));
  if (cached) return path.join(dir, cached);
  tried.push(`pip download --no-deps ${spec}`);
  log(`fetching ${spec} with pip (only its libtensorflow is used)…`);
  const r = cp.spawnSync(py, ['-m', 'pip', 'download', '--no-deps',
    '--only-binary=:all:', '-d', dir, '--', spec], {encoding: 'utf8'});
  const got = fs.readdirSync(dir).find((f) => f.endsWith('.whl') && f.startsWith(pkgName));
  if (r.status !== 0 || !got) {
    throw new Error(`pip could not download ${spec}: ` +
      `${(r.stderr || '').trim().split('\n').slice(-1)[0] || `exit ${r.status}`}`);
  }
  return path.join(dir, got);
}

/**
 * Gives `deps` the same files as `from` (another package's deps staged from
 * the same wheel) as hard links: one copy of libtensorflow (1.1 GB) on disk
 * for tfjs-node and tfjs-node-gpu. Falls back to copying across file systems.
 */
function linkTree(from, to) {
  fs.mkdirSync(to, {recursive: true});
  for (const entry of fs.readdirSync(from, {withFileTypes: true})) {
    const src = path.join(from, entry.name);
    const dst = path.join(to, entry.name);
    if (entry.isSymbolicLink()) fs.symlinkSync(fs.readlinkSync(src), dst);
    else if (entry.isDirectory()) linkTree(src, dst);
    else {
      try {
        fs.linkSync(src, dst);
      } catch {
        fs.copyFileSync(src, dst);
      }
    }
  }
}

/** Extracts libtensorflow + C headers from the wheel into <pkg>/deps (or links them from `sharedDeps`). */
function stageFromWheel(dir, wheel, py, sharedDeps) {
  const deps = path.join(dir, 'deps');
  fs.rmSync(deps, {recursive: true, force: true});
  if (sharedDeps) {
    linkTree(sharedDeps, deps);
    return;
  }
  fs.mkdirSync(path.join(deps, 'lib'), {recursive: true});
  // Every file taken from the wheel is checked against the sha256 its RECORD lists (a damaged or altered
  // wheel, cached or given, is refused), its METADATA must name TensorFlow, and nothing is written outside
  // deps/ (an entry such as tensorflow/include/../../../x is refused: zip-slip).
  const script = `
import base64, hashlib, os, shutil, sys, zipfile
whl, deps = sys.argv[1], os.path.realpath(sys.argv[2])
z = zipfile.ZipFile(whl)
names = z.namelist()
dist = [n for n in names if n.endswith('.dist-info/RECORD') and n.count('/') == 1]
if len(dist) != 1:
    sys.exit('not a wheel: it has no .dist-info/RECORD')
info = dist[0].rsplit('/', 1)[0]
meta = z.read(info + '/METADATA').decode('utf-8', 'replace').splitlines()
name = next((l.split(':', 1)[1].strip() for l in meta if l.lower().startswith('name:')), '')
if name.lower().replace('_', '-') not in ('tensorflow', 'tensorflow-cpu', 'tensorflow-intel', 'tensorflow-aarch64'):
    sys.exit('the wheel is %r, not TensorFlow' % name)
record = {}
for line in z.read(dist[0]).decode('utf-8').splitlines():
    parts = line.rsplit(',', 2)
    if len(parts) == 3 and parts[1].startswith('sha256='):
        record[parts[0]] = parts[1][len('sha256='):]
def take(n, out):
    out = os.path.realpath(out)
    if not out.startswith(deps + os.sep):
        sys.exit('refused %r: it would be written outside %s' % (n, deps))
    if n not in record:
        sys.exit('refused %r: the wheel\\'s RECORD lists no hash for it' % n)
    os.makedirs(os.path.dirname(out), exist_ok=True)
    h = hashlib.sha256()
    with z.open(n) as src, open(out, 'wb') as dst:
        for chunk in iter(lambda: src.read(1 << 20), b''):
            h.update(chunk)
            dst.write(chunk)
    if base64.urlsafe_b64encode(h.digest()).rstrip(b'=').decode() != record[n]:
        os.remove(out)
        sys.exit('refused %r: its bytes do not match the sha256 in the wheel\\'s RECORD (a damaged or altered wheel)' % n)
need = ['tensorflow/libtensorflow_cc.so.2', 'tensorflow/libtensorflow_framework.so.2']
missing = [n for n in need if n not in names]
if missing:
    sys.exit('wheel lacks ' + ', '.join(missing))
for n in need:
    take(n, os.path.join(deps, 'lib', os.path.basename(n)))
pre = 'tensorflow/include/'
count = 0
for n in names:
    if n.startswith(pre) and not n.endswith('/'):
        take(n, os.path.join(deps, 'include', n[len(pre):]))
        count += 1
if count == 0:
    sys.exit('wheel has no C headers under ' + pre)
`;
  const r = cp.spawnSync(py, ['-c', script, wheel, deps], {encoding: 'utf8'});
  if (r.status !== 0) {
    throw new Error(`could not extract libtensorflow from ${wheel}: ${(r.stderr || '').trim()}`);
  }
  const lib = path.join(deps, 'lib');
  const links = {
    [`libtensorflow.so.${LIBTF_VERSION}`]: 'libtensorflow_cc.so.2',
    'libtensorflow.so': 'libtensorflow_cc.so.2',
    [`libtensorflow_framework.so.${LIBTF_VERSION}`]: 'libtensorflow_framework.so.2',
    'libtensorflow_framework.so': 'libtensorflow_framework.so.2',
  };
  for (const [name, target] of Object.entries(links)) {
    fs.symlinkSync(target, path.join(lib, name));
  }
}

function installOne(name, opts) {
  const dir = packageDir(name);
  if (!dir) return {name, status: 'absent'};
  const kind = name.endsWith('-gpu') ? 'gpu' : 'cpu';
  const tried = [];
  if (!opts.force) {
    const backend = probe(name);
    if (backend) return {name, status: 'ok', how: 'already built', backend};
  }
  if (!opts.offline) {
    tried.push(`${name}'s own install script (downloads libtensorflow)`);
    if (ordinaryInstall(dir, kind, opts.quiet)) {
      const backend = probe(name);
      if (backend) return {name, status: 'ok', how: 'ordinary install', backend};
    }
  }
  const py = findPython();
  if (!py) {
    tried.push('offline route: needs python3 with pip, none found on PATH');
    return {name, status: 'failed', tried};
  }
  try {
    const wheel = obtainWheel(opts, py, tried);
    tried.push(`libtensorflow from ${path.basename(wheel)}, binding built with node-gyp`);
    log(`${name}: staging libtensorflow from ${path.basename(wheel)}; building the binding (≈30 s)…`);
    stageFromWheel(dir, wheel, py, opts.staged.get(wheel));
    opts.staged.set(wheel, path.join(dir, 'deps'));
    // The package's own script finds deps/lib, tries the prebuilt addon
    // (fails offline) and falls back to building from source.
    const r = cp.spawnSync(process.execPath, ['scripts/install.js', kind],
      {cwd: dir, env: buildEnv(), encoding: 'utf8'});
    const backend = probe(name);
    if (backend) return {name, status: 'ok', how: 'offline route', backend};
    const out = `${r.stdout || ''}${r.stderr || ''}`.trim().split('\n');
    tried.push(`build output ends: ${out.slice(-3).join(' | ')}`);
  } catch (e) {
    tried.push(e.message);
  }
  return {name, status: 'failed', tried};
}

function main(argv = process.argv.slice(2)) {
  const opts = parseArgs(argv);
  // npm sets INIT_CWD to where `npm install` ran: when that is another
  // project, this package is being installed as a dependency: leave its
  // tfjs-node to it (the user runs this script by hand if needed).
  if (opts.ifRoot && process.env.INIT_CWD &&
      path.resolve(process.env.INIT_CWD) !== path.resolve(ROOT)) {
    process.exit(0);
  }
  const major = Number(process.versions.node.split('.')[0]);
  if (major >= 23) {
    log(`Node ${process.versions.node}: @tensorflow/tfjs-node 4.22 calls util.isNullOrUndefined, which ` +
      "Node 23 removed: require('tfjs-drop-path/node-compat') before '@tensorflow/tfjs-node'.");
  }
  const names = opts.packages.length ? opts.packages : DEFAULT_PACKAGES;
  if (!opts.packages.length && !names.some((n) => packageDir(n))) {
    console.error(`tfjs-drop-path install-tfjs-node: neither ${DEFAULT_PACKAGES.join(' nor ')} is installed in ${ROOT}, so ` +
      'there is no binding to build. Next step: add "allowScripts": {"@tensorflow/tfjs-node": false} to your ' +
      'package.json (so npm skips its download), npm install @tensorflow/tfjs-node, then run this command again ' +
      '(or pass --root DIR for another project).');
    process.exit(1);
  }
  let failed = false;
  for (const name of names) {
    const res = installOne(name, opts);
    if (res.status === 'absent') {
      if (opts.packages.length) {
        log(`${name} is not installed in ${ROOT}/node_modules; run npm install ${name} first.`);
        failed = true;
      }
      continue;
    }
    if (res.status === 'ok') {
      if (!opts.quiet || res.how !== 'already built') {
        log(`${name}: ready (${res.how}), backend "${res.backend}".`);
      }
      continue;
    }
    failed = true;
    console.error([
      '',
      `tfjs-drop-path: could not install the native binding of ${name}.`,
      'Tried, in order:',
      ...res.tried.map((t, i) => `  ${i + 1}. ${t}`),
      'What to do:',
      '  - download a TensorFlow wheel on a machine with access (pip download --no-deps ' +
        `${DEFAULT_WHEEL_SPEC}) and run: npx tfjs-drop-path install-tfjs-node --wheel /path/to/file.whl`,
      '  - or put a libtensorflow 2.x tarball where tfjs-node can reach it (TFJS_NODE_CDN_STORAGE)',
      '  - needs python3, make and a C++ compiler (node-gyp) and Node\'s headers (npm config nodedir).',
      '',
    ].join('\n'));
  }
  process.exit(failed ? 1 : 0);
}

if (require.main === module) main();

module.exports = {main};
