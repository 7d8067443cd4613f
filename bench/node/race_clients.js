// SPDX-License-Identifier: MIT
// race_node_bench's Node.js side: one Node HTTP client in the keep-alive race. LANES users each
// send REQUESTS GETs one after the other, idling a gap drawn uniformly from MIN_MS..MAX_MS before
// each (as `tether load --concurrency 1 --gap MIN..MAX`); every user has its own agent or pool,
// so its connection idles exactly its own gap.
//
//   node race_clients.js CLIENT URL REQUESTS LANES MIN_MS MAX_MS [SEED]
//
// CLIENT is
//   node-http       http.Agent({keepAlive: true}) (Node 20's defaults: no idle timeout of its own
//                   when the server sends no Keep-Alive hint, so idle sockets are reused)
//   undici          undici.Pool(origin, {connections: 1}) defaults (keepAliveTimeout 4 s)
//   axios-retry     axios with its own http.Agent({keepAlive: true}) and axios-retry
//                   ({retries: 3}, default retryCondition: network or idempotent-request errors)
//   agentkeepalive  agentkeepalive's HttpAgent defaults (freeSocketTimeout 4 s)
// Prints one JSON object: {"client","requests","succeeded","failed","errors":{MESSAGE:N},
// "retries" (axios-retry's onRetry calls, else null),"connections_opened","latency_ms":{"p50",
// "p99","max"}}. Latency runs from the start of a request (after its gap) to its outcome,
// retries included. Exit status 0 whatever the failures (they are the result).
'use strict';

const http = require('node:http');
const undici = require('undici');

const [client, url, rArg, lArg, minArg, maxArg, seedArg] = process.argv.slice(2);
const requests = Number(rArg);
const lanes = Number(lArg);
const minMs = Number(minArg);
const maxMs = Number(maxArg);
const seed = Number(seedArg || Date.now() % 2 ** 31);
const TIMEOUT_MS = 5000;
if (!client || !url || !(requests > 0) || !(lanes > 0) || !(maxMs >= minMs)) {
  console.error('usage: node race_clients.js CLIENT URL REQUESTS LANES MIN_MS MAX_MS [SEED]');
  process.exit(2);
}
const target = new URL(url);

// mulberry32, so a run can be replayed with the same SEED.
function prng(s) {
  let a = s >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function errorKey(e) {
  const cause = e.cause && (e.cause.code || e.cause.message);
  return `${e.message}${cause ? ` (${cause})` : ''}`;
}

let retries = null;
let connections = 0;

// A GET through a node:http agent; counts the requests that did not reuse a socket.
function agentGet(agent) {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { agent, host: target.hostname, port: target.port, path: target.pathname, method: 'GET',
        timeout: TIMEOUT_MS },
      (res) => {
        res.on('data', () => {});
        res.on('end', () => (res.statusCode < 400 ? resolve() : reject(new Error(`status ${res.statusCode}`))));
        res.on('error', reject);
      },
    );
    req.on('socket', () => {
      if (!req.reusedSocket) connections++;
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

// makeLane() returns {get, close} for one user.
function makeLane() {
  switch (client) {
    case 'node-http': {
      const agent = new http.Agent({ keepAlive: true });
      return { get: () => agentGet(agent), close: async () => agent.destroy() };
    }
    case 'agentkeepalive': {
      const Agent = require('agentkeepalive');
      const agent = new Agent();
      return { get: () => agentGet(agent), close: async () => agent.destroy() };
    }
    case 'undici': {
      const pool = new undici.Pool(target.origin, { connections: 1 });
      pool.on('connect', () => connections++);
      return {
        get: async () => {
          const { statusCode, body } = await pool.request({
            path: target.pathname, method: 'GET', headersTimeout: TIMEOUT_MS, bodyTimeout: TIMEOUT_MS,
          });
          await body.dump();
          if (statusCode >= 400) throw new Error(`status ${statusCode}`);
        },
        close: () => pool.close(),
      };
    }
    case 'axios-retry': {
      const axios = require('axios');
      const axiosRetry = require('axios-retry').default;
      const agent = new http.Agent({ keepAlive: true });
      const origCreate = agent.createConnection.bind(agent);
      agent.createConnection = (...args) => {
        connections++;
        return origCreate(...args);
      };
      const inst = axios.create({ httpAgent: agent, timeout: TIMEOUT_MS, responseType: 'text' });
      retries = 0;
      axiosRetry(inst, { retries: 3, onRetry: () => retries++ });
      return { get: () => inst.get(url), close: async () => agent.destroy() };
    }
    default:
      console.error(`race_clients: unknown client ${client}`);
      process.exit(2);
  }
  return null;
}

(async () => {
  const latencies = [];
  const errors = {};
  let ok = 0;
  let failed = 0;
  const lane = async (i) => {
    const rand = prng(seed + i * 7919);
    const c = makeLane();
    for (let n = 0; n < requests; n++) {
      await sleep(minMs + Math.floor(rand() * (maxMs - minMs + 1)));
      const t0 = process.hrtime.bigint();
      try {
        await c.get();
        ok++;
      } catch (e) {
        failed++;
        const k = errorKey(e);
        errors[k] = (errors[k] || 0) + 1;
      }
      latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
    await c.close();
  };
  await Promise.all(Array.from({ length: lanes }, (_, i) => lane(i)));
  latencies.sort((a, b) => a - b);
  const pct = (p) => Number(latencies[Math.min(latencies.length - 1, Math.ceil((p / 100) * latencies.length) - 1)].toFixed(3));
  console.log(JSON.stringify({
    client, requests: requests * lanes, succeeded: ok, failed, errors, retries,
    connections_opened: connections,
    latency_ms: { p50: pct(50), p99: pct(99), max: pct(100) },
  }));
})();
