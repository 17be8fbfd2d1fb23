#!/usr/bin/env node
/**
 * One version source: package.json. Writes it into src/version.ts (the
 * library's `version`) and python/tfjs_drop_path/_version.py (the twin's
 * `__version__`, which pyproject.toml reads), so the three agree by
 * construction. Run by `npm run build` and by `npm version` (the `version`
 * script), never by hand.
 */
'use strict';
const fs = require('fs');
const path = require('path');

const root = path.resolve(__dirname, '..');
const {version} = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
if (!/^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/.test(version)) throw new Error(`package.json version ${JSON.stringify(version)} is not semver`);
const targets = {
  'src/version.ts': `/** The version of tfjs-drop-path: written from package.json by scripts/sync-version.js. */\nexport const version = '${version}';\n`,
  'python/tfjs_drop_path/_version.py': `"""The twin's version: written from package.json by scripts/sync-version.js."""\n__version__ = "${version}"\n`,
};
for (const [file, text] of Object.entries(targets)) {
  const full = path.join(root, file);
  if (!fs.existsSync(full) || fs.readFileSync(full, 'utf8') !== text) fs.writeFileSync(full, text);
}
