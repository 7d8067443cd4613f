// SPDX-License-Identifier: MIT
// toxiproxy-node-client 4.1.0 against `tether proxy`: the usage scenarios of the client's own
// test suite (src/tests/*.spec.ts, see shared/anchors/proxy.md §3.1), made strict (an expected
// error that does not happen fails), plus a byte path check through a proxy and a toxic.
// Usage: node node_client.js <tether-binary> (or TETHER_BINARY). Prints one line per scenario
// and "N passed, M failed"; exits 1 on any failure.
"use strict";

const { spawn } = require("node:child_process");
const net = require("node:net");
const readline = require("node:readline");
const { Toxiproxy } = require("toxiproxy-node-client");

// TETHER_TEST_TIMEOUT_MULTIPLIER scales every bound on something that must happen.
const MULT = Math.max(1, Number(process.env.TETHER_TEST_TIMEOUT_MULTIPLIER) || 1);
const SCENARIO_TIMEOUT_MS = 15000 * MULT;
const tether = process.argv[2] || process.env.TETHER_BINARY;

function assert(cond, what) {
  if (!cond) {
    throw new Error(`assertion failed: ${what}`);
  }
}

function assertEq(got, want, what) {
  if (got !== want) {
    throw new Error(`${what}: got ${JSON.stringify(got)}, expected ${JSON.stringify(want)}`);
  }
}

// The promise must reject with the client's error for `status` (4.1.0 never reads the body).
async function expectStatus(promise, status, what) {
  let err = null;
  try {
    await promise;
  } catch (e) {
    err = e;
  }
  assert(err !== null, `${what}: expected HTTP ${status}, the call succeeded`);
  assertEq(err.message, `Request failed with status code ${status}`, what);
}

function withTimeout(promise, ms, what) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: timed out after ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function portIsFree(port, host) {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once("error", () => resolve(false));
    s.listen(port, host, () => s.close(() => resolve(true)));
  });
}

function portOf(listen) {
  return Number(listen.slice(listen.lastIndexOf(":") + 1));
}

// Starts `tether proxy -host 127.0.0.1 -port 0`; resolves with the child and the API URL read
// from its first stdout line.
function startServer() {
  return new Promise((resolve, reject) => {
    const child = spawn(tether, ["proxy", "-host", "127.0.0.1", "-port", "0", "-seed", "7"], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`no 'listening on' line within ${10 * MULT} s`));
    }, 10000 * MULT);
    child.once("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.once("exit", (code, sig) => {
      clearTimeout(timer);
      reject(new Error(`tether proxy exited early (code ${code}, signal ${sig})`));
    });
    const rl = readline.createInterface({ input: child.stdout });
    rl.once("line", (line) => {
      clearTimeout(timer);
      const m = /^listening on (http:\/\/[^ ]+:(\d+))$/.exec(line);
      if (!m || Number(m[2]) === 0) {
        child.kill("SIGKILL");
        reject(new Error(`unexpected first line: ${JSON.stringify(line)}`));
        return;
      }
      child.removeAllListeners("exit");
      rl.on("line", (extra) => process.stderr.write(`# tether stdout: ${extra}\n`));
      resolve({ child, url: m[1] });
    });
  });
}

// An echo server for the byte path scenario.
function startEcho() {
  return new Promise((resolve) => {
    const sockets = new Set();
    const server = net.createServer((s) => {
      sockets.add(s);
      s.on("close", () => sockets.delete(s));
      s.on("error", () => {});
      s.pipe(s);
    });
    server.listen(0, "127.0.0.1", () =>
      resolve({
        port: server.address().port,
        close: () =>
          new Promise((done) => {
            for (const s of sockets) s.destroy();
            server.close(() => done());
          }),
      })
    );
  });
}

// Sends `msg` to 127.0.0.1:port and resolves with the round-trip time once it is echoed back.
function roundTrip(port, msg) {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    let got = "";
    const s = net.connect(port, "127.0.0.1", () => s.write(msg));
    s.setEncoding("utf8");
    s.on("data", (d) => {
      got += d;
      if (got.length >= msg.length) {
        s.destroy();
        if (got === msg) resolve(Date.now() - t0);
        else reject(new Error(`echo: got ${JSON.stringify(got)}`));
      }
    });
    s.on("error", reject);
    s.on("close", () => reject(new Error("closed before the echo")));
  });
}

async function removeAllProxies(toxiproxy) {
  const proxies = await toxiproxy.getAll();
  for (const name of Object.keys(proxies)) {
    await proxies[name].remove();
  }
}

// TestHelper.createProxy: localhost:0 in front of localhost:6379 (never dialled).
function createProxy(toxiproxy, name) {
  return toxiproxy.createProxy({ listen: "localhost:0", name, upstream: "localhost:6379" });
}

function scenarios(toxiproxy) {
  return [
    // --- Toxiproxy.spec.ts (assertion 1) ---
    ["Toxiproxy: create a proxy on localhost:0", async () => {
      const proxy = await createProxy(toxiproxy, "create-test");
      assertEq(proxy.name, "create-test", "name");
      assertEq(proxy.upstream, "localhost:6379", "upstream");
      assertEq(proxy.enabled, true, "enabled");
      assert(/^127\.0\.0\.1:\d+$/.test(proxy.listen) && portOf(proxy.listen) !== 0,
        `listen is the bound address, got ${proxy.listen}`);
      await proxy.remove();
    }],
    ["Toxiproxy: get a proxy", async () => {
      const created = await createProxy(toxiproxy, "get-test");
      const fetched = await toxiproxy.get(created.name);
      assertEq(fetched.name, created.name, "name");
      assertEq(fetched.listen, created.listen, "listen");
      await created.remove();
    }],
    ["Toxiproxy: get version", async () => {
      const text = await toxiproxy.getVersion();
      assert(typeof text === "string", "version is text (4.1.0 uses res.text())");
      assert(JSON.parse(text).version.startsWith("2.12.0"), `version ${text}`);
    }],
    ["Toxiproxy: reset (POST with no body)", async () => {
      await toxiproxy.reset();
    }],
    ["Toxiproxy: populate", async () => {
      const proxies = await toxiproxy.populate([
        { listen: "localhost:0", name: "get-all-test", upstream: "localhost:6379" },
      ]);
      assertEq(Object.keys(proxies).join(","), "get-all-test", "populated names");
      await Promise.all(Object.keys(proxies).map((n) => proxies[n].remove()));
    }],
    ["Toxiproxy: populate two fixed ports, getAll returns exactly them", async () => {
      let p1 = 9988;
      let p2 = 9987;
      if (!(await portIsFree(p1, "127.0.0.1")) || !(await portIsFree(p2, "127.0.0.1"))) {
        p1 = await freePort();
        do {
          p2 = await freePort();
        } while (p2 === p1);
      }
      const proxy1 = {
        listen: `127.0.0.1:${p1}`, name: "get-all-test1", upstream: "localhost:6379",
      };
      const proxy2 = {
        listen: `127.0.0.1:${p2}`, name: "get-all-test2", upstream: "localhost:12345",
      };
      await toxiproxy.populate([proxy1, proxy2]);
      await toxiproxy.getAll();
      const proxies = await toxiproxy.getAll();
      assertEq(Object.keys(proxies).length, 2, "number of proxies");
      for (const want of [proxy1, proxy2]) {
        const got = proxies[want.name];
        assert(got !== undefined, `${want.name} listed`);
        assertEq(got.name, want.name, "name");
        assertEq(got.listen, want.listen, "listen");
        assertEq(got.upstream, want.upstream, "upstream");
      }
    }],
    // --- Proxy.spec.ts (assertions 2 and 4) ---
    ["Proxy: update (disable, then enable with a new upstream)", async () => {
      const proxy = await createProxy(toxiproxy, "update-proxy-test");
      const disabled = await proxy.update({
        enabled: false, listen: proxy.listen, upstream: proxy.upstream,
      });
      assertEq(disabled.enabled, false, "enabled after disable");
      const updated = await proxy.update({
        enabled: true, listen: proxy.listen, upstream: "somehost:12345",
      });
      assertEq(updated.enabled, true, "enabled after enable");
      assertEq(updated.upstream, "somehost:12345", "upstream");
      assertEq(updated.listen, proxy.listen, "listen keeps its port");
      await proxy.remove();
    }],
    ["Proxy: remove", async () => {
      const proxy = await createProxy(toxiproxy, "remove-test");
      await proxy.remove();
      await expectStatus(toxiproxy.get("remove-test"), 404, "get after remove");
    }],
    ["Proxy: creating the same proxy twice is a 409", async () => {
      const proxy = await createProxy(toxiproxy, "duplicate");
      await expectStatus(createProxy(toxiproxy, "duplicate"), 409, "second create");
      await proxy.remove();
    }],
    // --- Toxic.spec.ts (assertions 2 and 3) ---
    ["Toxic: CRUD", async () => {
      const proxy = await createProxy(toxiproxy, "remove-toxic-test");
      const toxic = await proxy.addToxic({
        attributes: { latency: 1000, jitter: 100 }, type: "latency",
      });
      assertEq(toxic.name, "latency_downstream", "default name");
      assertEq(toxic.toxicity, 1, "default toxicity");
      assertEq(toxic.stream, "downstream", "default stream");
      assertEq(toxic.attributes.latency, 1000, "latency");
      assertEq(toxic.attributes.jitter, 100, "jitter");
      const fromServer = await proxy.getToxic(toxic.name);
      assertEq(fromServer.name, toxic.name, "name");
      assertEq(fromServer.type, toxic.type, "type");
      assertEq(fromServer.stream, toxic.stream, "stream");
      assertEq(fromServer.toxicity, toxic.toxicity, "toxicity");
      const updated = await toxic.update({ attributes: { latency: 12345, jitter: 42 } });
      assertEq(updated.attributes.latency, 12345, "updated latency");
      assertEq(updated.attributes.jitter, 42, "updated jitter");
      await toxic.remove();
      await expectStatus(proxy.getToxic(toxic.name), 404, "getToxic after removal");
      await expectStatus(proxy.getToxic("latency"), 404, "getToxic of an unknown name");
      await proxy.remove();
    }],
    ["Toxic: creating the same toxic twice is a 409", async () => {
      const proxy = await createProxy(toxiproxy, "duplicate-toxic-test");
      const attributes = { latency: 1000, jitter: 100 };
      await proxy.addToxic({ attributes, type: "latency" });
      await expectStatus(proxy.addToxic({ attributes, type: "latency" }), 409, "second addToxic");
      await proxy.remove();
    }],
    // --- ToxicTypes.spec.ts (assertion 5) ---
    ...[
      ["latency", { latency: 1000, jitter: 100 }],
      ["bandwidth", { rate: 1000 }],
      ["slow_close", { delay: 1000 }],
      ["timeout", { timeout: 5000 }],
      ["slicer", { average_size: 1000, delay: 1000, size_variation: 1000 }],
      ["reset_peer", { timeout: 1000 }],
      ["limit_data", { bytes: 42 }],
    ].map(([type, attributes]) => [`ToxicTypes: add a ${type} toxic`, async () => {
      const proxy = await createProxy(toxiproxy, `add-${type}-toxic-test`);
      const toxic = await proxy.addToxic({ attributes, type });
      assertEq(toxic.type, type, "type");
      for (const [k, v] of Object.entries(attributes)) {
        assertEq(toxic.attributes[k], v, `attribute ${k}`);
      }
      await proxy.remove();
    }]),
    ["ToxicTypes: \"down\" (in the client's Type union) is a 400", async () => {
      const proxy = await createProxy(toxiproxy, "add-down-toxic-test");
      await expectStatus(proxy.addToxic({ attributes: {}, type: "down" }), 400, "down");
      await proxy.remove();
    }],
    // --- beyond the client's suite: the proxy carries bytes and the toxic acts ---
    ["Data path: echo through the proxy, then a 300 ms latency toxic", async () => {
      const echo = await startEcho();
      try {
        const proxy = await toxiproxy.createProxy({
          listen: "127.0.0.1:0", name: "data-path", upstream: `127.0.0.1:${echo.port}`,
        });
        const port = portOf(proxy.listen);
        const fast = await roundTrip(port, "ping");
        // Only a bound against a hang: the latency toxic's effect is the lower bound below.
        assert(fast < 1000 * MULT, `plain round trip took ${fast} ms`);
        await proxy.addToxic({ type: "latency", attributes: { latency: 300 } });
        const slow = await roundTrip(port, "ping");
        assert(slow >= 280, `round trip with latency 300 took ${slow} ms`);
        await proxy.update({ enabled: false, listen: proxy.listen, upstream: proxy.upstream });
        let refused = false;
        try {
          await roundTrip(port, "x");
        } catch (e) {
          refused = e.code === "ECONNREFUSED";
        }
        assert(refused, "a disabled proxy refuses connections");
        await proxy.remove();
      } finally {
        await echo.close();
      }
    }],
    // --- @testcontainers/toxiproxy's flow: 0.0.0.0 listen, port read back from getAll ---
    ["testcontainers flow: 0.0.0.0 listen, setEnabled via update", async () => {
      let port = 0;
      for (let p = 8666; p <= 8697 && port === 0; p++) {
        if (await portIsFree(p, "0.0.0.0")) port = p;
      }
      if (port === 0) port = await freePort();
      const proxy = await toxiproxy.createProxy({
        listen: `0.0.0.0:${port}`, name: "tc", upstream: "localhost:6379",
      });
      const all = await toxiproxy.getAll();
      assertEq(portOf(all.tc.listen), port, "port after the last ':' of listen");
      const off = await proxy.update({
        enabled: false, listen: proxy.listen, upstream: proxy.upstream,
      });
      assertEq(off.enabled, false, "setEnabled(false)");
      const on = await proxy.update({
        enabled: true, listen: proxy.listen, upstream: proxy.upstream,
      });
      assertEq(on.enabled, true, "setEnabled(true)");
      await proxy.remove();
    }],
  ];
}

async function main() {
  if (!tether) {
    console.log("FAIL: no tether binary (argument 1 or TETHER_BINARY)");
    console.log("0 passed, 1 failed");
    process.exit(1);
  }
  let server;
  try {
    server = await startServer();
  } catch (e) {
    console.log(`not ok - start tether proxy: ${e.message}`);
    console.log("0 passed, 1 failed");
    process.exit(1);
  }
  const toxiproxy = new Toxiproxy(server.url);
  let passed = 0;
  let failed = 0;
  let n = 0;
  for (const [name, fn] of scenarios(toxiproxy)) {
    n++;
    try {
      await withTimeout((async () => {
        await removeAllProxies(toxiproxy); // each spec file's beforeAll
        await fn();
      })(), SCENARIO_TIMEOUT_MS, name);
      console.log(`ok ${n} - ${name}`);
      passed++;
    } catch (e) {
      console.log(`not ok ${n} - ${name}: ${e && e.message ? e.message : e}`);
      failed++;
    }
  }
  n++;
  const exitName = "tether proxy exits 0 on SIGTERM";
  try {
    const code = await withTimeout(new Promise((resolve) => {
      server.child.once("exit", (c, sig) => resolve(sig ? sig : c));
      server.child.kill("SIGTERM");
    }), 5000 * MULT, exitName);
    assertEq(code, 0, "exit status");
    console.log(`ok ${n} - ${exitName}`);
    passed++;
  } catch (e) {
    server.child.kill("SIGKILL");
    console.log(`not ok ${n} - ${exitName}: ${e.message}`);
    failed++;
  }
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed === 0 ? 0 : 1);
}

main();
