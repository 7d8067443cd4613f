// SPDX-License-Identifier: MIT
// Peers for tests/cli/test_get_curl.sh, one per mode, each printing "listening on http://127.0.0.1:PORT":
//   echo   answers every request with what it received: method, the headers curl and tether
//          set (authorization, user-agent, accept, content-type) and the body, as JSON
//   reset  destroys the connection as soon as request bytes arrive (a POST that may have run)
//   tls    answers request bytes with a TLS alert record (http:// sent to a TLS port)
'use strict';
const http = require('http');
const net = require('net');

const mode = process.argv[2];
let server;
if (mode === 'echo') {
    server = http.createServer((req, res) => {
        const chunks = [];
        req.on('data', (c) => chunks.push(c));
        req.on('end', () => {
            const h = req.headers;
            res.setHeader('Content-Type', 'application/json');
            res.end(JSON.stringify({
                method: req.method,
                authorization: h.authorization || null,
                'user-agent': h['user-agent'] || null,
                accept: h.accept || null,
                'content-type': h['content-type'] || null,
                body: Buffer.concat(chunks).toString('latin1'),
            }) + '\n');
        });
    });
} else if (mode === 'reset') {
    server = net.createServer((c) => c.on('data', () => c.destroy()));
} else if (mode === 'tls') {
    server = net.createServer((c) => c.on('data', () => c.end(Buffer.from([0x15, 3, 3, 0, 2, 2, 70]))));
} else {
    console.error('usage: node curl_peers.js echo|reset|tls');
    process.exit(2);
}
server.listen(0, '127.0.0.1', () => console.log('listening on http://127.0.0.1:' + server.address().port));
process.on('SIGTERM', () => process.exit(0));
