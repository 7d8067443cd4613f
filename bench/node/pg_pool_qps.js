// SPDX-License-Identifier: MIT
// node-postgres' pg.Pool running what bench/pgpool_bench_run.c runs: QUERIES `SELECT $1::int`
// with CONCURRENCY in flight, connections opened before the clock starts. Prints "node-pg Q/S".
// The `pg` package comes from tests/compat (scripts/install-peers.sh); NODE_PATH points there.
//   node pg_pool_qps.js CONNINFO_URL QUERIES CONCURRENCY
'use strict';
const { Pool } = require('pg');

async function main() {
  const [url, n, c] = [process.argv[2], Number(process.argv[3]), Number(process.argv[4])];
  const pool = new Pool({ connectionString: url, max: c });
  pool.on('error', () => {}); // an idle client's error must not end the process
  await Promise.all(Array.from({ length: c }, () => pool.query('SELECT $1::int', [1])));
  let left = n;
  const t0 = process.hrtime.bigint();
  async function worker() {
    while (left > 0) {
      left--;
      await pool.query('SELECT $1::int', [1]);
    }
  }
  await Promise.all(Array.from({ length: c }, worker));
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  await pool.end();
  console.log(`node-pg ${Math.round(n / secs)}`);
}

main().catch((e) => {
  console.error(`pg_pool_qps: ${e.message}`);
  process.exit(1);
});
