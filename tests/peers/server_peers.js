// SPDX-License-Identifier: MIT
// Peer test: real HTTP clients (Node's http.Agent and undici) against `tether serve`. About 15 s.
//
//   node tests/peers/server_peers.js path/to/tether      (or TETHER_BINARY=... node ...)
//
// 1. The workload: `tether serve --keep-alive-timeout 1s` (graceful: advertises timeout=1,
//    closes idle connections 1 s later with FIN) and four client profiles, each as LANES
//    connections making PER_LANE requests after idle gaps drawn around the advertised timeout
//    (0.8x to 1.2x of it, plus values right at it):
//      agent         http.Agent({keepAlive: true}); Node 20 honours the Keep-Alive hint minus
//                    1 s, so with timeout=1 it never reuses a connection
//      agent-tight   an Agent that keeps idle sockets exactly the advertised time
//                    (keepSocketAlive overridden to ignore the 1 s safety margin)
//      undici        undici.Client defaults (hint minus a 2 s threshold: no reuse at timeout=1)
//      undici-tight  undici.Client({keepAliveTimeoutThreshold: 0}): idle for exactly the hint
//    Every request must succeed, whatever the gaps: a client that honours the advertised timeout
//    never meets the server's close, and a request already on its way at the close is served.
//
// 2. The race, forced: a tight client reuses its idle connection exactly when the server's
//    advertised keep-alive timeout runs out, which is when old Node servers close it. The
//    client's event loop is held (synchronously) from the end of the first response until
//      - `--close-style node` (plain close() at the advertised timeout): the server's FIN has
//        reached the client's kernel (/proc/net/tcp says CLOSE_WAIT), so the client has not
//        seen it yet. The second request then goes out on a closed connection: Node reports
//        ECONNRESET ("socket hang up"), undici "other side closed". Every time, not by luck.
//      - graceful (the default): the same moment, the advertised timeout. The server keeps the
//        connection for its buffer beyond that, so the second request is served on it.
//    How often the race happens by itself with gaps near the timeout is a statistic, measured in
//    bench/race_node_bench, not asserted here.
//
// Prints a table and the errors by message, then "N passed, M failed"; exits 1 on failure.
// TETHER_TEST_TIMEOUT_MULTIPLIER scales every bound (and the graceful server's buffer).
'use strict';

const fs = require('node:fs');
const http = require('node:http');
const { spawn } = require('node:child_process');
const undici = require('undici');

const KEEP_ALIVE_MS = 1000;
const MULT = Math.max(1, Number(process.env.TETHER_TEST_TIMEOUT_MULTIPLIER) || 1);
const LANES = Number(process.env.PEERS_LANES || 12);
const PER_LANE = Number(process.env.PEERS_PER_LANE || 9);
const SEED = Number(process.env.PEERS_SEED || 20250101);
const STATS_PATH = '/_tether/stats';
const REQUEST_TIMEOUT_MS = 5000 * MULT;
const LISTEN_TIMEOUT_MS = 5000 * MULT;
// The graceful server's extra idle time beyond the advertised one (its default is 1 s): the
// margin a client may be late by and still find its connection open.
const BUFFER_MS = 1000 * MULT;
// How long the forced case waits for the node-style server's FIN at most.
const CLOSE_WAIT_MS = KEEP_ALIVE_MS + 10000 * MULT;

const tether = process.argv[2] || process.env.TETHER_BINARY;
if (!tether) {
  console.error('usage: node server_peers.js PATH_TO_TETHER (or set TETHER_BINARY)');
  process.exit(2);
}

// Small deterministic PRNG (mulberry32), so a run can be replayed with PEERS_SEED.
function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// A third of the gaps uniform in [0.8T, 1.2T]; two thirds right at T (T-4 .. T ms).
function gapSchedule(rand) {
  const gaps = [];
  for (let i = 0; i < PER_LANE; i++) {
    if (i % 3 === 0) {
      gaps.push(Math.round(KEEP_ALIVE_MS * (0.8 + 0.4 * rand())));
    } else {
      gaps.push(KEEP_ALIVE_MS - 4 + Math.floor(rand() * 5));
    }
  }
  return gaps;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// Blocks the whole process, event loop included: nothing the kernel delivers meanwhile is seen.
const blocker = new Int32Array(new SharedArrayBuffer(4));
function sleepSync(ms) {
  Atomics.wait(blocker, 0, 0, ms);
}

// The kernel's TCP state of the connection localPort -> remotePort on loopback, as the two hex
// digits of /proc/net/tcp ("01" ESTABLISHED, "08" CLOSE_WAIT: the peer's FIN arrived), or null
// when there is no such connection any more.
function tcpState(localPort, remotePort) {
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (e) {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length < 4) {
        continue;
      }
      const lp = parseInt(cols[1].split(':').pop(), 16);
      const rp = parseInt(cols[2].split(':').pop(), 16);
      if (lp === localPort && rp === remotePort) {
        return cols[3];
      }
    }
  }
  return null;
}

function errorKey(e) {
  const code = e.code || e.name || 'Error';
  const cause = e.cause && (e.cause.code || e.cause.message);
  return `${code}: ${e.message}${cause ? ` (cause ${cause})` : ''}`;
}

// ---- the server ----

function startServer(extraArgs) {
  const args = ['serve', '--listen', '127.0.0.1:0', '--keep-alive-timeout', `${KEEP_ALIVE_MS}ms`,
    '--stats-path', STATS_PATH, ...extraArgs];
  const child = spawn(tether, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (d) => { stderr += d; });
  const exited = new Promise((resolve) => {
    child.on('exit', (code, signal) => resolve({ code, signal }));
    child.on('error', (e) => resolve({ code: null, signal: null, error: e }));
  });
  const listening = new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`no "listening on" line within ${LISTEN_TIMEOUT_MS} ms; stderr: ${stderr}`)), LISTEN_TIMEOUT_MS);
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (d) => {
      out += d;
      const m = /^listening on https?:\/\/([^\s]+):(\d+)\s*$/m.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ host: m[1].replace(/^\[|\]$/g, ''), port: Number(m[2]) });
      }
    });
    exited.then((x) => {
      clearTimeout(timer);
      reject(new Error(`tether serve exited early (${x.error ? x.error.message : x.code}); stderr: ${stderr}`));
    });
  });
  return { child, listening, exited, args, stderr: () => stderr };
}

// SIGTERM, then the exit status (SIGKILL when it does not exit in time).
async function stopServer(srv) {
  srv.child.kill('SIGTERM');
  const killer = setTimeout(() => srv.child.kill('SIGKILL'), 10000 * MULT);
  const exit = await srv.exited;
  clearTimeout(killer);
  return exit;
}

function fetchStats(port) {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: STATS_PATH, agent: false, timeout: REQUEST_TIMEOUT_MS }, (res) => {
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

// ---- clients ----

class TightAgent extends http.Agent {
  // Keeps an idle socket exactly as long as the server advertises (Node subtracts 1 s).
  keepSocketAlive(socket) {
    socket.setKeepAlive(true, this.keepAliveMsecs);
    socket.unref();
    let timeout = this.options.timeout || 0;
    const hint = socket._httpMessage && socket._httpMessage.res &&
      socket._httpMessage.res.headers['keep-alive'];
    const m = hint && /^timeout=(\d+)/.exec(hint);
    if (m) {
      timeout = Number(m[1]) * 1000;
    }
    socket.setTimeout(timeout);
    return true;
  }
}

function agentRequest(agent, port) {
  return new Promise((resolve) => {
    let done = false;
    let localPort = 0;
    const finish = (r) => {
      if (!done) {
        done = true;
        resolve({ ...r, localPort });
      }
    };
    const req = http.get({ host: '127.0.0.1', port, path: '/', agent, timeout: REQUEST_TIMEOUT_MS }, (res) => {
      localPort = res.socket.localPort;
      res.resume();
      res.on('end', () => finish({ ok: res.statusCode === 200, status: res.statusCode, reused: req.reusedSocket }));
      res.on('error', (e) => finish({ ok: false, error: e, reused: req.reusedSocket }));
    });
    req.on('timeout', () => req.destroy(new Error('client request timeout')));
    req.on('error', (e) => finish({ ok: false, error: e, reused: req.reusedSocket }));
  });
}

async function undiciRequest(client) {
  try {
    const { statusCode, body } = await client.request({
      path: '/', method: 'GET', headersTimeout: REQUEST_TIMEOUT_MS, bodyTimeout: REQUEST_TIMEOUT_MS,
    });
    await body.text();
    return { ok: statusCode === 200, status: statusCode };
  } catch (e) {
    return { ok: false, error: e };
  }
}

// undici hides its sockets; this connector keeps the last one and counts the dials.
function undiciWithSocket(port, opts) {
  const base = undici.buildConnector({});
  const seen = { socket: null, dials: 0 };
  const client = new undici.Client(`http://127.0.0.1:${port}`, {
    ...opts,
    connect: (o, cb) => base(o, (err, socket) => {
      if (socket) {
        seen.socket = socket;
        seen.dials++;
      }
      cb(err, socket);
    }),
  });
  return { client, seen };
}

const PROFILES = [
  {
    name: 'agent',
    make: () => new http.Agent({ keepAlive: true, maxSockets: 1 }),
    request: (a, port) => agentRequest(a, port),
    close: async (a) => a.destroy(),
  },
  {
    name: 'agent-tight',
    make: () => new TightAgent({ keepAlive: true, maxSockets: 1 }),
    request: (a, port) => agentRequest(a, port),
    close: async (a) => a.destroy(),
  },
  {
    name: 'undici',
    make: (port) => new undici.Client(`http://127.0.0.1:${port}`),
    request: (c) => undiciRequest(c),
    close: async (c) => c.destroy(),
  },
  {
    name: 'undici-tight',
    make: (port) => new undici.Client(`http://127.0.0.1:${port}`, { keepAliveTimeoutThreshold: 0 }),
    request: (c) => undiciRequest(c),
    close: async (c) => c.destroy(),
  },
];

// ---- 1. the workload ----

// One lane: one client (one connection at a time), requests separated by the drawn gaps.
async function lane(profile, port, gaps, tally) {
  const client = profile.make(port);
  try {
    for (let i = 0; i <= gaps.length; i++) {
      const r = await profile.request(client, port);
      tally.requests++;
      if (r.reused) {
        tally.reused++;
      }
      if (r.ok) {
        tally.ok++;
      } else {
        tally.errors++;
        const key = r.error ? errorKey(r.error) : `HTTP ${r.status}`;
        tally.byMessage.set(key, (tally.byMessage.get(key) || 0) + 1);
        if (i > 0) {
          tally.errorGaps.push(gaps[i - 1]);
        }
      }
      if (i < gaps.length) {
        await sleep(gaps[i]);
      }
    }
  } finally {
    await profile.close(client);
  }
}

async function runWorkload(mode, extraArgs, rand) {
  const srv = startServer(extraArgs);
  const result = { mode, args: srv.args.join(' '), tallies: [], stats: null, exit: null, startError: null };
  let addr;
  try {
    addr = await srv.listening;
  } catch (e) {
    result.startError = e.message;
    srv.child.kill('SIGKILL');
    await srv.exited;
    return result;
  }
  const runs = [];
  for (const profile of PROFILES) {
    const tally = { profile: profile.name, requests: 0, ok: 0, errors: 0, reused: 0, byMessage: new Map(), errorGaps: [] };
    result.tallies.push(tally);
    for (let l = 0; l < LANES; l++) {
      runs.push(lane(profile, addr.port, gapSchedule(rand), tally));
    }
  }
  await Promise.all(runs);
  result.stats = await fetchStats(addr.port);
  result.exit = await stopServer(srv);
  result.stderr = srv.stderr();
  return result;
}

// ---- 2. the race, forced ----

// Holds the event loop (the client sees nothing meanwhile) until `ready()` is true or `maxMs`
// passed; returns how long it held and whether `ready()` came true.
function holdUntil(ready, maxMs) {
  const t0 = Date.now();
  for (;;) {
    if (ready(Date.now() - t0)) {
      return { heldMs: Date.now() - t0, reached: true };
    }
    if (Date.now() - t0 >= maxMs) {
      return { heldMs: Date.now() - t0, reached: false };
    }
    sleepSync(2);
  }
}

// What the client must wait for before it reuses the connection idle since its first
// response: node, the server's FIN in the kernel (CLOSE_WAIT), which the server sends at the
// advertised timeout; graceful, the advertised timeout itself.
function reuseMoment(mode, localPort, serverPort) {
  if (mode === 'node') {
    return holdUntil(() => tcpState(localPort, serverPort) !== '01', CLOSE_WAIT_MS);
  }
  return holdUntil((ms) => ms >= KEEP_ALIVE_MS, KEEP_ALIVE_MS);
}

async function forcedAgent(mode, port) {
  const agent = new TightAgent({ keepAlive: true, maxSockets: 1 });
  try {
    const first = await agentRequest(agent, port);
    if (!first.ok) {
      return { client: 'agent-tight', first };
    }
    // The response has ended; one turn later the socket is in the agent's free list.
    await new Promise((resolve) => setImmediate(resolve));
    const held = reuseMoment(mode, first.localPort, port);
    const stateAtReuse = tcpState(first.localPort, port);
    const second = await agentRequest(agent, port);
    return { client: 'agent-tight', first, held, stateAtReuse, second, dials: null };
  } finally {
    agent.destroy();
  }
}

async function forcedUndici(mode, port) {
  const { client, seen } = undiciWithSocket(port, { keepAliveTimeoutThreshold: 0 });
  try {
    const first = await undiciRequest(client);
    if (!first.ok || !seen.socket) {
      return { client: 'undici-tight', first };
    }
    const localPort = seen.socket.localPort;
    const held = reuseMoment(mode, localPort, port);
    const stateAtReuse = tcpState(localPort, port);
    const second = await undiciRequest(client);
    // One dial for both requests: the second went out on the held connection.
    return { client: 'undici-tight', first, held, stateAtReuse, second, dials: seen.dials };
  } finally {
    await client.destroy();
  }
}

async function runForced(mode, extraArgs) {
  const srv = startServer(extraArgs);
  const result = { mode, args: srv.args.join(' '), cases: [], stats: null, exit: null, startError: null };
  let addr;
  try {
    addr = await srv.listening;
  } catch (e) {
    result.startError = e.message;
    srv.child.kill('SIGKILL');
    await srv.exited;
    return result;
  }
  result.cases.push(await forcedAgent(mode, addr.port));
  result.cases.push(await forcedUndici(mode, addr.port));
  result.stats = await fetchStats(addr.port);
  result.exit = await stopServer(srv);
  return result;
}

// ---- report ----

function pad(s, n) {
  s = String(s);
  return s.length >= n ? s : s + ' '.repeat(n - s.length);
}

function outcome(r) {
  if (!r) {
    return '-';
  }
  if (r.ok) {
    return `${r.status} ok${r.reused ? ' (reused)' : ''}`;
  }
  return r.error ? errorKey(r.error) : `HTTP ${r.status}`;
}

function report(workload, forced) {
  console.log(`\n1. workload: keep-alive timeout ${KEEP_ALIVE_MS} ms, ${LANES} lanes x ${PER_LANE + 1} requests per client profile, seed ${SEED}`);
  console.log(`   tether ${workload.args}`);
  if (workload.startError) {
    console.log(`   did not start: ${workload.startError}`);
  }
  console.log(`${pad('client', 14)}${pad('requests', 10)}${pad('ok', 6)}${pad('errors', 8)}reused`);
  for (const t of workload.tallies) {
    const reused = t.profile.startsWith('agent') ? String(t.reused) : '-';
    console.log(`${pad(t.profile, 14)}${pad(t.requests, 10)}${pad(t.ok, 6)}${pad(t.errors, 8)}${reused}`);
  }
  for (const t of workload.tallies) {
    for (const [msg, n] of t.byMessage) {
      console.log(`  ${pad(t.profile, 14)}${pad(n, 5)}${msg}`);
    }
    if (t.errorGaps.length) {
      console.log(`  ${pad(t.profile, 14)}gaps (ms) before the failed requests: ${t.errorGaps.join(' ')}`);
    }
  }
  if (workload.stats) {
    const s = workload.stats;
    const closes = Object.entries(s.closes || {}).filter(([, n]) => n > 0).map(([k, n]) => `${k}=${n}`).join(' ');
    console.log(`  server: requests ${s.server_requests}, connections accepted ${s.connections && s.connections.accepted}, ` +
      `fin_sent ${s.fin_sent}, rst_sent ${s.rst_sent}, pending_rescued ${s.pending_rescued}; closes: ${closes}`);
  }
  console.log(`  exit after SIGTERM: ${workload.exit && (workload.exit.signal || workload.exit.code)}`);

  console.log('\n2. reuse at the advertised timeout, forced');
  for (const f of forced) {
    console.log(`   ${f.mode}: tether ${f.args}`);
    if (f.startError) {
      console.log(`     did not start: ${f.startError}`);
      continue;
    }
    for (const c of f.cases) {
      const held = c.held ? `held ${c.held.heldMs} ms, TCP state ${c.stateAtReuse}` : 'not held';
      console.log(`     ${pad(c.client, 14)}first ${outcome(c.first)}; ${held}; second ${outcome(c.second)}`);
    }
    console.log(`     exit after SIGTERM: ${f.exit && (f.exit.signal || f.exit.code)}`);
  }
}

async function main() {
  const rand = prng(SEED);
  const t0 = Date.now();
  const workload = await runWorkload('graceful', ['--keep-alive-buffer', `${BUFFER_MS}ms`], rand);
  const forced = [
    await runForced('node', ['--close-style', 'node']),
    await runForced('graceful', ['--keep-alive-buffer', `${BUFFER_MS}ms`]),
  ];
  report(workload, forced);

  const checks = [];
  const check = (name, ok, detail) => checks.push({ name, ok, detail });
  const errorsOf = (r) => r.tallies.reduce((n, t) => n + t.errors, 0);
  const requestsOf = (r) => r.tallies.reduce((n, t) => n + t.requests, 0);
  const expected = PROFILES.length * LANES * (PER_LANE + 1);

  check('workload: server started', !workload.startError, workload.startError);
  check('workload: every request made', requestsOf(workload) === expected, `${requestsOf(workload)}/${expected}`);
  check('workload: zero client errors', !workload.startError && errorsOf(workload) === 0, `${errorsOf(workload)} errors`);
  check('workload: tight clients reused connections', workload.tallies.some((t) => t.profile === 'agent-tight' && t.reused > 0),
    'agent-tight never reused a socket: the workload did not exercise keep-alive');
  check('workload: server sent no RST', workload.stats !== null && workload.stats.rst_sent === 0,
    workload.stats ? `rst_sent ${workload.stats.rst_sent}` : 'no stats');
  check('workload: exit 0 on SIGTERM', workload.exit !== null && workload.exit.code === 0, JSON.stringify(workload.exit));

  for (const f of forced) {
    check(`${f.mode}: server started`, !f.startError, f.startError);
    if (f.startError) {
      continue;
    }
    for (const c of f.cases) {
      const name = `${f.mode}, ${c.client}`;
      check(`${name}: first request served`, c.first && c.first.ok, outcome(c.first));
      if (!c.held) {
        continue;
      }
      if (f.mode === 'node') {
        check(`${name}: the server's FIN reached the held client`, c.held.reached,
          `TCP state ${c.stateAtReuse} after ${c.held.heldMs} ms`);
        // Node's own codes for a reused socket closed under a request; undici's socket error.
        const e = c.second && c.second.error;
        const want = c.client.startsWith('agent') ? ['ECONNRESET', 'EPIPE'] : ['UND_ERR_SOCKET', 'ECONNRESET', 'EPIPE'];
        check(`${name}: the reuse at close fails (${want.join('/')})`, !!e && want.includes(e.code), outcome(c.second));
        if (c.second && c.client.startsWith('agent')) {
          check(`${name}: it was the reused socket`, c.second.reused === true, `reused ${c.second.reused}`);
        }
      } else {
        check(`${name}: the connection is still open at the advertised timeout`, c.stateAtReuse === '01',
          `TCP state ${c.stateAtReuse}`);
        check(`${name}: the reuse at the same moment is served`, c.second && c.second.ok, outcome(c.second));
        if (c.second && c.client.startsWith('agent')) {
          check(`${name}: on the same connection`, c.second.reused === true, `reused ${c.second.reused}`);
        } else if (c.second) {
          check(`${name}: on the same connection`, c.dials === 1, `${c.dials} dials`);
        }
      }
    }
    if (f.mode === 'graceful') {
      check('graceful: server sent no RST', f.stats !== null && f.stats.rst_sent === 0,
        f.stats ? `rst_sent ${f.stats.rst_sent}` : 'no stats');
    }
    check(`${f.mode}: exit 0 on SIGTERM`, f.exit !== null && f.exit.code === 0, JSON.stringify(f.exit));
  }

  console.log('');
  for (const c of checks) {
    console.log(`${c.ok ? 'ok  ' : 'FAIL'} ${c.name}${c.ok || !c.detail ? '' : ` (${c.detail})`}`);
  }
  const failed = checks.filter((c) => !c.ok).length;
  console.log(`took ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  console.log(`${checks.length - failed} passed, ${failed} failed`);
  process.exitCode = failed ? 1 : 0;
}

main().catch((e) => {
  console.error(e);
  console.log('0 passed, 1 failed');
  process.exitCode = 1;
});
