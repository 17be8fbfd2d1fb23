#!/usr/bin/env node
/**
 * A small static file server for the browser example and its test: serves the
 * project folder on 127.0.0.1 (GET and HEAD only, nothing outside the folder).
 *   node scripts/serve.js [port]     (default 8080; 0 picks a free port)
 */
'use strict';
const fs = require('fs');
const http = require('http');
const path = require('path');

const ROOT = path.resolve(__dirname, '..');
const TYPES = {'.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.mjs': 'text/javascript',
  '.json': 'application/json', '.map': 'application/json', '.css': 'text/css', '.png': 'image/png',
  '.svg': 'image/svg+xml', '.bin': 'application/octet-stream', '.wasm': 'application/wasm'};

function createServer() {
  return http.createServer((req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405).end();
      return;
    }
    const url = new URL(req.url, 'http://localhost');
    let file = path.normalize(path.join(ROOT, decodeURIComponent(url.pathname)));
    if (!file.startsWith(ROOT + path.sep) && file !== ROOT) {
      res.writeHead(403).end();
      return;
    }
    if (fs.existsSync(file) && fs.statSync(file).isDirectory()) file = path.join(file, 'index.html');
    fs.readFile(file, (err, data) => {
      if (err) {
        res.writeHead(404, {'content-type': 'text/plain'}).end(`not found: ${url.pathname}`);
        return;
      }
      res.writeHead(200, {'content-type': TYPES[path.extname(file)] || 'application/octet-stream',
        'cache-control': 'no-store'});
      res.end(req.method === 'HEAD' ? undefined : data);
    });
  });
}

/** Starts a server; resolves to {server, url}. */
function serve(port = 0) {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve({server, url: `http://127.0.0.1:${server.address().port}`}));
  });
}

module.exports = {serve};

if (require.main === module) {
  const port = Number(process.argv[2] ?? 8080);
  serve(port).then(({url}) => console.log(`serving ${ROOT} at ${url}/examples/browser/`));
}
