// SPDX-License-Identifier: MIT
// client_node_bench's Node.js side: requests per second of one Node HTTP client against a
// keep-alive server (`tether serve`), CONCURRENCY requests in flight on as many connections.
//
//   node client_rps.js CLIENT URL CONCURRENCY REQUESTS
//
// CLIENT is
//   node-http  http.request through http.Agent({keepAlive: true, maxSockets: CONCURRENCY})
//   undici     undici.Pool(origin, {connections: CONCURRENCY}).request(), body consumed
// A warm-up of 20 requests per connection opens the connections first (not timed). Prints one
// JSON object: {"client","concurrency","requests","succeeded","failed","errors","duration_s","rps"}
// (the shape of `tether load --json`). Exit 1 when any request failed.
'use strict';

const http = require('node:http');
const undici = require('undici');

const [client, url, cArg, nArg] = process.argv.slice(2);
const concurrency = Number(cArg);
const requests = Number(nArg);
if (!client || !url || !(concurrency > 0) || !(requests > 0)) {
  console.error('usage: node client_rps.js node-http|undici URL CONCURRENCY REQUESTS');
  process.exit(2);
}

function errorKey(e) {
  const code = e.code || e.name || 'Error';
  return `${code}: ${e.message}`;
}

function nodeHttpClient() {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const target = new URL(url);
  const one = () =>
    new Promise((resolve, reject) => {
      const req = http.request(
        { agent, host: target.hostname, port: target.port, path: target.pathname, method: 'GET' },
        (res) => {
          res.on('data', () => {});
          res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`status ${res.statusCode}`))));
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end();
    });
  return { one, close: async () => agent.destroy() };
}

function undiciClient() {
  const target = new URL(url);
  const pool = new undici.Pool(target.origin, { connections: concurrency });
  const one = async () => {
    const { statusCode, body } = await pool.request({ path: target.pathname, method: 'GET' });
    await body.dump();
    if (statusCode !== 200) throw new Error(`status ${statusCode}`);
  };
  return { one, close: () => pool.close() };
}

// Runs total requests with `concurrency` lanes; returns [succeeded, failed, errors].
async function run(c, total) {
  let started = 0;
  let ok = 0;
  let failed = 0;
  const errors = {};
  const lane = async () => {
    while (started < total) {
      started++;
      try {
        await c.one();
        ok++;
      } catch (e) {
        failed++;
        const k = errorKey(e);
        errors[k] = (errors[k] || 0) + 1;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, lane));
  return [ok, failed, errors];
}

(async () => {
  const c = client === 'node-http' ? nodeHttpClient() : client === 'undici' ? undiciClient() : null;
  if (!c) {
    console.error(`client_rps: unknown client ${client}`);
    process.exit(2);
  }
  const [, warmFailed, warmErrors] = await run(c, 20 * concurrency);
  if (warmFailed) {
    console.error(`client_rps: warm-up failed: ${JSON.stringify(warmErrors)}`);
    process.exit(1);
  }
  const t0 = process.hrtime.bigint();
  const [ok, failed, errors] = await run(c, requests);
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  await c.close();
  console.log(JSON.stringify({
    client, concurrency, requests, succeeded: ok, failed, errors,
    duration_s: Number(secs.toFixed(3)), rps: Number((requests / secs).toFixed(1)),
  }));
  process.exit(failed ? 1 : 0);
})();
