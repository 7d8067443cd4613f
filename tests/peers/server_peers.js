// SPDX-License-Identifier: MIT
// Peer test: real HTTP clients (Node's http.Agent and undici) against `tether serve`, with idle
// gaps drawn around the keep-alive timeout (0.8x to 1.2x of it, plus values right at it).
// About 25 s.
//
//   node tests/peers/server_peers.js path/to/tether      (or TETHER_BINARY=... node ...)
//
// Two servers, the same workload:
//   graceful  `tether serve --keep-alive-timeout 1s`: advertises timeout=1, closes idle
//             connections at 2 s (S1 buffer) with FIN: zero client errors expected.
//   node      `tether serve --close-style node --keep-alive-timeout 1s`: plain close() at
//             exactly 1 s, like Node's old server: it must provoke errors (that is its job).
//
// Four client profiles run side by side, each as LANES connections making PER_LANE requests:
//   agent         http.Agent({keepAlive: true}); Node 20 honours the Keep-Alive hint minus 1 s,
//                 so with timeout=1 it never reuses a connection
//   agent-tight   an Agent that keeps idle sockets exactly the advertised time (keepSocketAlive
//                 overridden to ignore the 1 s safety margin: timeout = 1000 ms)
//   undici        undici.Client defaults (hint minus a 2 s threshold: no reuse at timeout=1)
//   undici-tight  undici.Client({keepAliveTimeoutThreshold: 0}): idle for exactly the hint
// The tight profiles are the clients that meet a server closing at its advertised timeout.
//
// Prints a table and the errors by message, then "N passed, M failed"; exits 1 on failure.
'use strict';

const http = require('node:http');
const { spawn } = require('node:child_process');
const undici = require('undici');

const KEEP_ALIVE_MS = 1000;
const LANES = Number(process.env.PEERS_LANES || 12);
const PER_LANE = Number(process.env.PEERS_PER_LANE || 9);
const SEED = Number(process.env.PEERS_SEED || 20250101);
const STATS_PATH = '/_tether/stats';
const REQUEST_TIMEOUT_MS = 5000;

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

// A third of the gaps uniform in [0.8T, 1.2T]; two thirds right at T (T-4 .. T ms), where a
// server that closes at exactly T races the client's next request. (Gaps past T do not race:
// the client has seen the FIN, or its own idle timer has retired the socket.)
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
    const timer = setTimeout(() => reject(new Error(`no "listening on" line within 5 s; stderr: ${stderr}`)), 5000);
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

function fetchStats(port) {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: STATS_PATH, agent: false, timeout: 3000 }, (res) => {
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
    const finish = (r) => {
      if (!done) {
        done = true;
        resolve(r);
      }
    };
    const req = http.get({ host: '127.0.0.1', port, path: '/', agent, timeout: REQUEST_TIMEOUT_MS }, (res) => {
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

async function runMode(mode, extraArgs, rand) {
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
  srv.child.kill('SIGTERM');
  const killer = setTimeout(() => srv.child.kill('SIGKILL'), 10000);
  result.exit = await srv.exited;
  clearTimeout(killer);
  result.stderr = srv.stderr();
  return result;
}

function pad(s, n) {
  s = String(s);
  return s.length >= n ? s : s + ' '.repeat(n - s.length);
}

function report(results) {
  console.log(`\nkeep-alive timeout ${KEEP_ALIVE_MS} ms, ${LANES} lanes x ${PER_LANE + 1} requests per client profile, seed ${SEED}`);
  console.log(`${pad('mode', 10)}${pad('client', 14)}${pad('requests', 10)}${pad('ok', 6)}${pad('errors', 8)}reused`);
  for (const r of results) {
    for (const t of r.tallies) {
      const reused = t.profile.startsWith('agent') ? String(t.reused) : '-';
      console.log(`${pad(r.mode, 10)}${pad(t.profile, 14)}${pad(t.requests, 10)}${pad(t.ok, 6)}${pad(t.errors, 8)}${reused}`);
    }
  }
  for (const r of results) {
    console.log(`\n${r.mode}: tether ${r.args}`);
    if (r.startError) {
      console.log(`  did not start: ${r.startError}`);
      continue;
    }
    let any = false;
    for (const t of r.tallies) {
      for (const [msg, n] of t.byMessage) {
        console.log(`  ${pad(t.profile, 14)}${pad(n, 5)}${msg}`);
        any = true;
      }
      if (t.errorGaps.length) {
        console.log(`  ${pad(t.profile, 14)}gaps (ms) before the failed requests: ${t.errorGaps.join(' ')}`);
      }
    }
    if (!any) {
      console.log('  no client errors');
    }
    if (r.stats) {
      const s = r.stats;
      const closes = Object.entries(s.closes || {}).filter(([, n]) => n > 0).map(([k, n]) => `${k}=${n}`).join(' ');
      console.log(`  server: requests ${s.server_requests}, connections accepted ${s.connections && s.connections.accepted}, ` +
        `fin_sent ${s.fin_sent}, rst_sent ${s.rst_sent}, pending_rescued ${s.pending_rescued}; closes: ${closes}`);
    }
    console.log(`  exit after SIGTERM: ${r.exit && (r.exit.signal || r.exit.code)}`);
  }
}

async function main() {
  const rand = prng(SEED);
  const t0 = Date.now();
  const graceful = await runMode('graceful', [], rand);
  const node = await runMode('node', ['--close-style', 'node'], rand);
  const results = [graceful, node];
  report(results);

  const checks = [];
  const check = (name, ok, detail) => checks.push({ name, ok, detail });
  const errorsOf = (r) => r.tallies.reduce((n, t) => n + t.errors, 0);
  const requestsOf = (r) => r.tallies.reduce((n, t) => n + t.requests, 0);
  const expected = PROFILES.length * LANES * (PER_LANE + 1);

  check('graceful: server started', !graceful.startError, graceful.startError);
  check('graceful: every request made', requestsOf(graceful) === expected, `${requestsOf(graceful)}/${expected}`);
  check('graceful: zero client errors', !graceful.startError && errorsOf(graceful) === 0, `${errorsOf(graceful)} errors`);
  check('graceful: tight clients reused connections', graceful.tallies.some((t) => t.profile === 'agent-tight' && t.reused > 0),
    'agent-tight never reused a socket: the workload did not exercise keep-alive');
  check('graceful: server sent no RST', graceful.stats !== null && graceful.stats.rst_sent === 0,
    graceful.stats ? `rst_sent ${graceful.stats.rst_sent}` : 'no stats');
  check('graceful: exit 0 on SIGTERM', graceful.exit !== null && graceful.exit.code === 0,
    JSON.stringify(graceful.exit));
  check('node: server started', !node.startError, node.startError);
  check('node: provoked at least one client error', !node.startError && errorsOf(node) > 0,
    `${errorsOf(node)} errors`);
  check('node: exit 0 on SIGTERM', node.exit !== null && node.exit.code === 0, JSON.stringify(node.exit));

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
