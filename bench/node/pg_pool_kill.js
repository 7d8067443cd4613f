// SPDX-License-Identifier: MIT
// node-postgres' pg.Pool in the kill scenarios of bench/pgpool_bench: 8 reads of 0.5 s in
// flight on 4 connections, then either every busy backend is terminated ("busy") or the server
// restarts ("restart": the command in PG_RESTART runs). Prints "node-pg failed F of 8".
//   node pg_pool_kill.js URL busy|restart
'use strict';
const { Pool, Client } = require('pg');
const { execSync } = require('child_process');

async function main() {
  const [url, scenario] = [process.argv[2], process.argv[3]];
  const pool = new Pool({ connectionString: url, max: 4, application_name: 'tether_pool' });
  pool.on('error', () => {}); // without it an idle client's error ends the process
  const admin = new Client({ connectionString: url, application_name: 'bench_admin' });
  await admin.connect();
  const runs = Array.from({ length: 8 }, () => pool.query('SELECT 1 FROM pg_sleep(0.5)'));
  const settled = Promise.allSettled(runs);
  for (;;) {
    const r = await admin.query(
      "SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'tether_pool' " +
        "AND state = 'active'");
    if (r.rows[0].n >= 4) break;
    await new Promise((res) => setTimeout(res, 5));
  }
  if (scenario === 'busy') {
    await admin.query(
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = " +
        "'tether_pool' AND state = 'active'");
    await admin.end();
  } else {
    await admin.end().catch(() => {});
    execSync(process.env.PG_RESTART, { stdio: 'ignore' });
  }
  const results = await settled;
  const failed = results.filter((r) => r.status === 'rejected').length;
  await pool.end().catch(() => {});
  console.log(`node-pg failed ${failed} of 8`);
}

main().catch((e) => {
  console.error(`pg_pool_kill: ${e.message}`);
  process.exit(1);
});
