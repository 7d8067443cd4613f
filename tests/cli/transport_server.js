// SPDX-License-Identifier: MIT
// The peer of test_get_transport.sh: Node's own HTTP server answering redirects of every kind
// and gzip/deflate bodies compressed by Node's zlib, so `tether get` and curl meet the same
// real server. Prints "listening on http://127.0.0.1:PORT" once ready; exits on SIGTERM.
'use strict';
const http = require('http');
const zlib = require('zlib');

let text = '';
for (let i = 0; i < 400; i++) text += `line ${i} of a compressible body\n`;

const redirects = {
  '/r301': [301, '/echo'],
  '/r302': [302, 'echo?from=302'], // relative to the current path
  '/r303': [303, null],            // absolute, filled in per request
  '/r307': [307, '/echo'],
  '/r308': [308, '/dir/../echo#fragment'],
  '/chain': [302, '/r301'],
  '/loop': [302, '/loop'],
};

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const url = new URL(req.url, 'http://x');
    const r = redirects[url.pathname];
    if (r) {
      const loc = r[1] || `http://127.0.0.1:${server.address().port}/echo`;
      res.writeHead(r[0], { Location: loc, 'Content-Type': 'text/plain' });
      res.end(`moved to ${loc}\n`);
      return;
    }
    if (url.pathname === '/echo') {
      const body = Buffer.concat(chunks).toString();
      res.end(`${req.method} ${req.url} body=${body} ` +
              `ct=${req.headers['content-type'] || '-'} auth=${req.headers.authorization || '-'} ` +
              `via=${req.headers.via ? 'proxy' : '-'}\n`);
      return;
    }
    const codings = { '/gzip': ['gzip', zlib.gzipSync], '/deflate': ['deflate', zlib.deflateSync],
                      '/rawdeflate': ['deflate', zlib.deflateRawSync] };
    const c = codings[url.pathname];
    if (c) {
      const ae = req.headers['accept-encoding'] || '';
      if (!ae.includes(c[0])) {
        res.end(text);
        return;
      }
      res.writeHead(200, { 'Content-Encoding': c[0], 'Content-Type': 'text/plain' });
      res.end(c[1](Buffer.from(text)));
      return;
    }
    res.writeHead(404);
    res.end('not found\n');
  });
});
server.listen(0, '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
process.on('SIGTERM', () => process.exit(0));
