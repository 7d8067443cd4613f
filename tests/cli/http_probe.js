// SPDX-License-Identifier: MIT
// One HTTP(S) request for the CLI tests, printed as greppable lines:
//   status N / header name: value (lower-case names) / body-bytes N / body-sha256 HEX /
//   body JSON-STRING (first 200 bytes) / elapsed-ms N / json PATH VALUE / error CODE
// Usage: node http_probe.js URL [-X METHOD] [-H 'Name: value']... [--data TEXT]
//        [--json a.b.c]... [--timeout MS]
'use strict';
const http = require('http');
const https = require('https');
const crypto = require('crypto');

const args = process.argv.slice(2);
const url = new URL(args.shift());
let method = 'GET';
const headers = {};
let data = null;
const jsonPaths = [];
let timeoutMs = 10000;
while (args.length) {
  const a = args.shift();
  if (a === '-X') method = args.shift();
  else if (a === '-H') {
    const h = args.shift();
    const i = h.indexOf(':');
    headers[h.slice(0, i).trim()] = h.slice(i + 1).trim();
  } else if (a === '--data') data = args.shift();
  else if (a === '--json') jsonPaths.push(args.shift());
  else if (a === '--timeout') timeoutMs = Number(args.shift());
  else { console.log('error usage ' + a); process.exit(2); }
}

const mod = url.protocol === 'https:' ? https : http;
// A keep-alive agent, so the request says "Connection: keep-alive" as real clients do and the
// server's keep-alive headers can be checked.
const agent = new mod.Agent({ keepAlive: true, maxSockets: 1 });
const started = process.hrtime.bigint();
if (data !== null) headers['Content-Length'] = Buffer.byteLength(data);
const req = mod.request(url, {
  method, headers, agent, rejectUnauthorized: false,
  // The raw target (e.g. "/../etc/passwd"): URL() would normalise it away.
  path: process.argv[2].replace(/^[a-z]+:\/\/[^/]+/, '') || '/',
}, (res) => {
  console.log('status ' + res.statusCode);
  for (let i = 0; i < res.rawHeaders.length; i += 2) {
    console.log('header ' + res.rawHeaders[i].toLowerCase() + ': ' + res.rawHeaders[i + 1]);
  }
  const hash = crypto.createHash('sha256');
  const chunks = [];
  let n = 0;
  let kept = 0;
  res.on('data', (c) => {
    n += c.length;
    hash.update(c);
    if (kept < 1 << 20) { chunks.push(c); kept += c.length; }
  });
  res.on('end', () => {
    const elapsed = Number(process.hrtime.bigint() - started) / 1e6;
    const body = Buffer.concat(chunks);
    console.log('body-bytes ' + n);
    console.log('body-sha256 ' + hash.digest('hex'));
    console.log('body ' + JSON.stringify(body.subarray(0, 200).toString('latin1')));
    console.log('elapsed-ms ' + Math.round(elapsed));
    if (jsonPaths.length) {
      let doc;
      try { doc = JSON.parse(body.toString('utf8')); } catch (e) { console.log('json-invalid'); }
      if (doc !== undefined) {
        console.log('json-valid');
        for (const p of jsonPaths) {
          const v = p.split('.').reduce((o, k) => (o === undefined || o === null ? undefined : o[k]), doc);
          console.log('json ' + p + ' ' + JSON.stringify(v));
        }
      }
    }
    agent.destroy();
  });
});
req.setTimeout(timeoutMs, () => req.destroy(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' })));
req.on('error', (e) => { console.log('error ' + (e.code || e.message)); agent.destroy(); process.exitCode = 1; });
if (data !== null) req.write(data);
req.end();
