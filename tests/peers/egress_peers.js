// SPDX-License-Identifier: MIT
// Peer test: Node 20 apps (http.Agent keep-alive and undici) calling an upstream that closes
// idle connections with no hint, directly and through `tether egress` (reverse mode, only the
// base URL changed). About 10 s.
//
//   node tests/peers/egress_peers.js path/to/tether
//
// The upstream is `tether serve --close-style node --keep-alive-timeout 1s --no-keep-alive-hint`:
// a plain close() after 1 s idle, and nothing telling clients when. For each client, path
// (direct, egress) and method (GET, POST without an Idempotency-Key) the race is forced by an
// event, never by a gap: after a first request the app holds its event loop until the
// upstream's side of every connection has left ESTABLISHED (/proc/net/tcp: its FIN was sent and
// acknowledged), then sends the second request on its kept-alive connection.
//   direct: the app's socket got the FIN but the app has not seen it: Node fails with
//           ECONNRESET / socket hang up, undici with "other side closed" (SocketError).
//   egress: the app's connection is to egress, whose server never closes under it; egress's
//           client watches its idle upstream connection and probes it at checkout, so the
//           request goes on a fresh one: 200.
// The same forced race with undici's ProxyAgent through egress in forward mode (the HTTP_PROXY
// way): 200. The upstream counts POSTs: each POST the app saw succeed ran exactly once, the
// failed ones never (no blind replay of a POST).
// Prints one line per case, then "N passed, M failed"; exits 1 on failure.
'use strict';

const fs = require('node:fs');
const http = require('node:http');
const { spawn } = require('node:child_process');
const undici = require('undici');

const MULT = Math.max(1, Number(process.env.TETHER_TEST_TIMEOUT_MULTIPLIER) || 1);
const IDLE_MS = 1000;
const REQUEST_TIMEOUT_MS = 5000 * MULT;
const LISTEN_TIMEOUT_MS = 5000 * MULT;
const CLOSE_WAIT_MS = IDLE_MS + 10000 * MULT;
const STATS = '/_tether/stats';

const tether = process.argv[2] || process.env.TETHER_BINARY;
if (!tether) {
  console.error('usage: node egress_peers.js PATH_TO_TETHER (or set TETHER_BINARY)');
  process.exit(2);
}

const blocker = new Int32Array(new SharedArrayBuffer(4));
const sleepSync = (ms) => Atomics.wait(blocker, 0, 0, ms);

// TCP states (hex, /proc/net/tcp) of every connection whose local port is `port`, listener
// excluded.
function statesOfLocalPort(port) {
  const states = [];
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (e) {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length > 3 && parseInt(cols[1].split(':').pop(), 16) === port && cols[3] !== '0A') {
        states.push(cols[3]);
      }
    }
  }
  return states;
}

// Holds the event loop until the upstream has closed its side of every connection (no socket
// of its port ESTABLISHED "01" or FIN_WAIT1 "04"): the FIN is in the peer's kernel.
function holdUntilUpstreamClosed(port) {
  const t0 = Date.now();
  for (;;) {
    const s = statesOfLocalPort(port);
    if (!s.includes('01') && !s.includes('04')) {
      return { heldMs: Date.now() - t0, reached: true };
    }
    if (Date.now() - t0 >= CLOSE_WAIT_MS) {
      return { heldMs: Date.now() - t0, reached: false };
    }
    sleepSync(2);
  }
}

function start(args) {
  const child = spawn(tether, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (d) => { stderr += d; });
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  const listening = new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`no listening line; stderr: ${stderr}`)), LISTEN_TIMEOUT_MS);
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (d) => {
      out += d;
      const m = /^listening on http:\/\/127\.0\.0\.1:(\d+)\s*$/m.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    exited.then(() => reject(new Error(`exited early; stderr: ${stderr}`)));
  });
  listening.catch(() => {});
  return { child, exited, listening, stderr: () => stderr };
}

async function stop(p) {
  p.child.kill('SIGTERM');
  const killer = setTimeout(() => p.child.kill('SIGKILL'), 10000 * MULT);
  const exit = await p.exited;
  clearTimeout(killer);
  return exit;
}

function getJson(port, path) {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path, agent: false, timeout: REQUEST_TIMEOUT_MS }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { body += d; });
      res.on('end', () => {
        try {
          resolve(JSON.parse(body));
        } catch (e) {
          resolve(null);
        }
      });
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve(null));
  });
}

function agentRequest(agent, port, method) {
  return new Promise((resolve) => {
    let done = false;
    const finish = (r) => {
      if (!done) {
        done = true;
        resolve(r);
      }
    };
    const body = method === 'POST' ? 'order=1' : null;
    const headers = body ? { 'Content-Type': 'text/plain', 'Content-Length': body.length } : {};
    const req = http.request({ host: '127.0.0.1', port, path: '/orders', method, headers, agent, timeout: REQUEST_TIMEOUT_MS }, (res) => {
      res.resume();
      res.on('end', () => finish({ ok: res.statusCode === 200, status: res.statusCode, reused: req.reusedSocket }));
      res.on('error', (e) => finish({ ok: false, error: e }));
    });
    req.on('timeout', () => req.destroy(new Error('client request timeout')));
    req.on('error', (e) => finish({ ok: false, error: e, reused: req.reusedSocket }));
    req.end(body || undefined);
  });
}

async function undiciRequest(client, method) {
  try {
    const { statusCode, body } = await client.request({
      path: '/orders', method, body: method === 'POST' ? 'order=1' : undefined,
      headersTimeout: REQUEST_TIMEOUT_MS, bodyTimeout: REQUEST_TIMEOUT_MS,
    });
    await body.text();
    return { ok: statusCode === 200, status: statusCode };
  } catch (e) {
    return { ok: false, error: e };
  }
}

// undici's ProxyAgent: the HTTP_PROXY way, through egress in forward mode.
async function proxyRequest(agent, url, method) {
  try {
    const { statusCode, body } = await undici.request(url, {
      method, body: method === 'POST' ? 'order=1' : undefined, dispatcher: agent,
      headersTimeout: REQUEST_TIMEOUT_MS, bodyTimeout: REQUEST_TIMEOUT_MS,
    });
    await body.text();
    return { ok: statusCode === 200, status: statusCode };
  } catch (e) {
    return { ok: false, error: e };
  }
}

const CLIENTS = [
  {
    name: 'http.Agent',
    make: () => new http.Agent({ keepAlive: true, maxSockets: 1 }),
    request: (a, port, method) => agentRequest(a, port, method),
    // The response has ended; one turn later the socket is in the agent's free list.
    settle: () => new Promise((resolve) => setImmediate(resolve)),
    close: async (a) => a.destroy(),
  },
  {
    name: 'undici',
    make: (port) => new undici.Client(`http://127.0.0.1:${port}`),
    request: (c, port, method) => undiciRequest(c, method),
    close: async (c) => c.destroy(),
  },
];

function describe(r) {
  if (r.ok) {
    return `${r.status} ok`;
  }
  if (r.error) {
    const cause = r.error.cause && (r.error.cause.code || r.error.cause.message);
    return `${r.error.code || r.error.name}: ${r.error.message}${cause ? ` (cause ${cause})` : ''}`;
  }
  return `HTTP ${r.status}`;
}

async function forced(client, path, port, upstreamPort, method) {
  const c = client.make(port);
  try {
    const first = await client.request(c, port, method);
    if (client.settle) {
      await client.settle();
    }
    const held = holdUntilUpstreamClosed(upstreamPort);
    const second = await client.request(c, port, method);
    return { client: client.name, path, method, first, held, second };
  } finally {
    await client.close(c);
  }
}

// The forced race through forward mode: the app's kept-alive connection is to egress.
async function forcedProxy(fwdPort, upstreamPort, method) {
  const agent = new undici.ProxyAgent(`http://127.0.0.1:${fwdPort}`);
  const url = `http://127.0.0.1:${upstreamPort}/orders`;
  try {
    const first = await proxyRequest(agent, url, method);
    const held = holdUntilUpstreamClosed(upstreamPort);
    const second = await proxyRequest(agent, url, method);
    return { first, held, second };
  } finally {
    await agent.close();
  }
}

async function main() {
  const checks = [];
  const check = (name, ok, detail) => checks.push({ name, ok: !!ok, detail });
  const upstream = start(['serve', '--listen', '127.0.0.1:0', '--close-style', 'node',
    '--keep-alive-timeout', `${IDLE_MS}ms`, '--no-keep-alive-hint', '--stats-path', STATS]);
  let upPort;
  let egPort;
  let fwdPort;
  let egress = null;
  let forward = null;
  try {
    upPort = await upstream.listening;
    egress = start(['egress', '--listen', '127.0.0.1:0', '--upstream', `http://127.0.0.1:${upPort}`,
      '--stats-path', STATS]);
    egPort = await egress.listening;
    forward = start(['egress', '--listen', '127.0.0.1:0', '--stats-path', STATS]);
    fwdPort = await forward.listening;
  } catch (e) {
    console.log(`FAIL start: ${e.message}`);
    for (const p of [upstream, egress, forward]) {
      if (p) {
        p.child.kill('SIGKILL');
      }
    }
    process.exit(1);
  }
  console.log(`upstream: tether serve --close-style node --keep-alive-timeout ${IDLE_MS}ms --no-keep-alive-hint`);
  let postsOk = 0;
  for (const client of CLIENTS) {
    for (const path of ['direct', 'egress']) {
      for (const method of ['GET', 'POST']) {
        const r = await forced(client, path, path === 'direct' ? upPort : egPort, upPort, method);
        const name = `${client.name} ${path} ${method}`;
        console.log(`  ${name.padEnd(24)} first ${describe(r.first)}; held ${r.held.heldMs} ms; second ${describe(r.second)}`);
        postsOk += method === 'POST' ? (r.first.ok ? 1 : 0) + (r.second.ok ? 1 : 0) : 0;
        check(`${name}: first request served`, r.first.ok, describe(r.first));
        check(`${name}: the upstream closed the idle connection`, r.held.reached, `${r.held.heldMs} ms`);
        if (path === 'direct') {
          // The failure users meet: Node's reset/hang-up codes, undici's closed socket.
          const e = r.second.error;
          const raced = e && (['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET'].includes(e.code) ||
            /socket hang up|other side closed/.test(e.message));
          check(`${name}: the second request fails on the closed connection`, raced, describe(r.second));
        } else {
          check(`${name}: the second request succeeds through egress`, r.second.ok, describe(r.second));
        }
      }
    }
  }
  for (const method of ['GET', 'POST']) {
    const r = await forcedProxy(fwdPort, upPort, method);
    const name = `ProxyAgent forward ${method}`;
    console.log(`  ${name.padEnd(24)} first ${describe(r.first)}; held ${r.held.heldMs} ms; second ${describe(r.second)}`);
    postsOk += method === 'POST' ? (r.first.ok ? 1 : 0) + (r.second.ok ? 1 : 0) : 0;
    check(`${name}: first request served`, r.first.ok, describe(r.first));
    check(`${name}: the upstream closed the idle connection`, r.held.reached, `${r.held.heldMs} ms`);
    check(`${name}: the second request succeeds through egress`, r.second.ok, describe(r.second));
  }
  const up = await getJson(upPort, STATS);
  const eg = await getJson(egPort, STATS);
  const posts = up && up.requests_by_method ? up.requests_by_method.POST || 0 : -1;
  console.log(`upstream POSTs executed: ${posts}; POSTs the apps saw succeed: ${postsOk}`);
  console.log(`egress: ${JSON.stringify(eg)}`);
  check('every POST that succeeded ran exactly once, the failed ones never', posts === postsOk,
    `upstream counted ${posts}, apps saw ${postsOk}`);
  check('egress answered every request itself: no 502', eg && eg.egress.failed_502 === 0, JSON.stringify(eg && eg.egress));
  const fwdExit = await stop(forward);
  check('forward egress exits 0 on SIGTERM', fwdExit.code === 0, JSON.stringify(fwdExit));
  check('forward egress wrote nothing on stderr', forward.stderr() === '', forward.stderr());
  const egExit = await stop(egress);
  const upExit = await stop(upstream);
  check('egress exits 0 on SIGTERM', egExit.code === 0, JSON.stringify(egExit));
  check('egress wrote nothing on stderr', egress.stderr() === '', egress.stderr());
  check('upstream exits 0 on SIGTERM', upExit.code === 0, JSON.stringify(upExit));
  let failed = 0;
  for (const c of checks) {
    if (!c.ok) {
      failed++;
      console.log(`FAIL ${c.name}: ${c.detail}`);
    }
  }
  console.log(`egress_peers: ${checks.length - failed} passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
}

main().catch((e) => {
  console.log(`FAIL ${e.stack || e}`);
  process.exit(1);
});
