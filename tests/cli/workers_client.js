// SPDX-License-Identifier: MIT
// The clients of tests/cli/test_serve_workers.sh, over raw sockets so every byte, FIN and RST
// is seen. Prints greppable lines.
//
//   node workers_client.js drain PORT STATS_PATH
//     Opens keep-alive connections, asking each which worker holds it (the stats document's
//     "worker"), until every worker holds two. On each worker one connection then sends a POST
//     head and half its body (in flight), the others stay idle. Prints "ready". Once the server
//     has closed every idle connection (its shutdown began), it sends the rest of the bodies.
//     Then prints "inflight-200 N", "inflight-close N", "idle-eof N", "resets N", "conns N",
//     "workers N" and "done".
//   node workers_client.js fresh PORT COUNT [KEYS]
//     COUNT sequential GET / on fresh connections (Connection: close), the i-th with
//     Idempotency-Key k<i % KEYS> when KEYS is given. Prints "status-200 N", "status-503 N",
//     "other N", "resets N", "elapsed-ms N".
'use strict';
const net = require('net');

const [mode, portText, arg3, arg4] = process.argv.slice(2);
const port = Number(portText);
const MAX_CONNS = 400; // the kernel's hash puts one in two on each worker: this never runs out

// Parses complete responses (Content-Length framed) from `buf`: [{status, headers, body}], rest.
function parseResponses(buf) {
  const out = [];
  for (;;) {
    const end = buf.indexOf('\r\n\r\n');
    if (end < 0) break;
    const lines = buf.subarray(0, end).toString('latin1').split('\r\n');
    const status = Number(lines[0].split(' ')[1]);
    const headers = {};
    for (const l of lines.slice(1)) {
      const i = l.indexOf(':');
      headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
    }
    const len = Number(headers['content-length'] || 0);
    if (buf.length < end + 4 + len) break;
    out.push({ status, headers, body: buf.subarray(end + 4, end + 4 + len).toString('utf8') });
    buf = buf.subarray(end + 4 + len);
  }
  return [out, buf];
}

// One connection: responses as they complete, and how it ended.
function open(onResponse) {
  const c = { sock: net.connect(port, '127.0.0.1'), buf: Buffer.alloc(0), responses: [],
              eof: false, reset: false, closed: false };
  c.sock.on('data', (d) => {
    c.buf = Buffer.concat([c.buf, d]);
    const [got, rest] = parseResponses(c.buf);
    c.buf = rest;
    for (const r of got) { c.responses.push(r); onResponse(c, r); }
  });
  c.sock.on('end', () => { c.eof = true; c.sock.end(); });
  c.sock.on('error', (e) => { if (e.code === 'ECONNRESET') c.reset = true; else c.error = e.code; });
  return c;
}

function drain(statsPath) {
  const conns = [];
  const byWorker = [];
  let nworkers = 0;
  let phase = 'probe';
  const inflight = [];
  const idle = [];

  const finishIfDone = () => {
    if (!conns.every((c) => c.closed)) return;
    const count = (f) => conns.filter(f).length;
    console.log('inflight-200 ' + inflight.filter((c) => c.responses.length === 2 &&
                                                    c.responses[1].status === 200).length);
    console.log('inflight-close ' + inflight.filter((c) => c.responses.length === 2 &&
                                                      c.responses[1].headers.connection === 'close').length);
    console.log('idle-eof ' + idle.filter((c) => c.eof && c.responses.length === 1).length);
    console.log('resets ' + count((c) => c.reset || c.error));
    console.log('conns ' + conns.length);
    console.log('workers ' + byWorker.filter((l) => l && l.length).length);
    console.log('done');
  };
  // Shutdown began once every idle connection saw the server's FIN: only then finish the
  // bodies, so the requests are in flight during the drain, not before it.
  const maybeFinishBodies = () => {
    if (phase !== 'ready' || !idle.every((c) => c.eof)) return;
    phase = 'finishing';
    for (const c of inflight) c.sock.write('56789');
  };
  const onClose = (c) => {
    c.closed = true;
    if (phase === 'probe') { console.log('early-close'); process.exit(1); }
    maybeFinishBodies();
    finishIfDone();
  };

  const startInflight = () => {
    phase = 'ready';
    for (const list of byWorker) {
      inflight.push(list[0]);
      idle.push(...list.slice(1));
    }
    for (const c of inflight) {
      c.sock.write('POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n01234');
    }
    for (const c of idle) c.sock.on('end', maybeFinishBodies);
    console.log('ready');
  };
  // Checked index by index: byWorker is sparse until every worker was seen (every() skips holes).
  const balanced = () => {
    if (nworkers === 0) return false;
    for (let i = 0; i < nworkers; i++) if (!byWorker[i] || byWorker[i].length < 2) return false;
    return true;
  };
  const next = () => {
    if (balanced()) { startInflight(); return; }
    if (conns.length >= MAX_CONNS) { console.log('unbalanced'); process.exit(1); }
    const c = open((conn, r) => {
      if (conn.responses.length !== 1) return;
      const doc = JSON.parse(r.body);
      nworkers = doc.workers;
      (byWorker[doc.worker] = byWorker[doc.worker] || []).push(conn);
      next();
    });
    c.sock.on('close', () => onClose(c));
    conns.push(c);
    c.sock.write('GET ' + statsPath + ' HTTP/1.1\r\nHost: x\r\n\r\n');
  };
  next();
}

function fresh(count, keys) {
  const tally = { 200: 0, 503: 0, other: 0, resets: 0 };
  const started = Date.now();
  let i = 0;
  const one = () => {
    if (i === count) {
      console.log('status-200 ' + tally[200]);
      console.log('status-503 ' + tally[503]);
      console.log('other ' + tally.other);
      console.log('resets ' + tally.resets);
      console.log('elapsed-ms ' + (Date.now() - started));
      return;
    }
    const key = keys ? 'Idempotency-Key: k' + (i % keys) + '\r\n' : '';
    i++;
    let seen = false;
    const c = open((conn, r) => {
      seen = true;
      if (r.status === 200 || r.status === 503) tally[r.status]++; else tally.other++;
    });
    c.sock.on('close', () => { if (!seen || c.reset) tally.resets++; one(); });
    c.sock.write('GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n' + key + '\r\n');
  };
  one();
}

if (mode === 'drain') drain(arg3);
else if (mode === 'fresh') fresh(Number(arg3), arg4 ? Number(arg4) : 0);
else { console.log('usage: workers_client.js drain PORT STATS_PATH | fresh PORT COUNT [KEYS]'); process.exit(2); }
