// The official Socket.IO client (tests/services, pinned) for tests/deploy/two-replicas.py:
//   node socket_probe.js '{"url":..,"transports":[..],"auth":{..},"withCredentials":true}'
// Prints one JSON line per event: connect, connect_error, disconnect, event {name, args}.
// withCredentials makes engine.io-client keep cookies in Node (its own cookie jar), so a balancer's
// affinity cookie set on the handshake goes with every later poll. Never reconnects; exits when
// stdin closes.
"use strict";

const path = require("path");
const { io } = require(path.join(__dirname, "..", "services", "node_modules", "socket.io-client"));

const options = JSON.parse(process.argv[2]);
const print = (obj) => process.stdout.write(JSON.stringify(obj) + "\n");

// {"count": N, "tokens": [..]}: N sockets for each token (a load for the memory measurement); prints
// {"type":"connected","n":..} once all are connected, or connect_error for the first that fails.
if (options.count) {
  const total = options.count * options.tokens.length;
  const sockets = [];
  // In batches of 30, so the measurement is of held sessions, not of a handshake flood.
  (async () => {
    for (let i = 0; i < total; i += 30) {
      const batch = [];
      for (let j = i; j < Math.min(i + 30, total); j++) {
        const token = options.tokens[j % options.tokens.length];
        const s = io(options.url, { transports: options.transports, auth: { token }, reconnection: false,
                                    forceNew: true, timeout: 20000 });
        sockets.push(s);
        batch.push(new Promise((resolve, reject) => {
          s.once("connect", resolve);
          s.once("connect_error", (err) => reject(err));
        }));
      }
      await Promise.all(batch);
    }
    print({ type: "connected", n: sockets.length });
  })().catch((err) => print({ type: "connect_error", message: err.message,
    detail: String(err.description && (err.description.message || err.description)) }));
  process.stdin.resume();
  process.stdin.on("end", () => process.exit(0));
  return;
}

const socket = io(options.url, {
  transports: options.transports,
  auth: options.auth,
  withCredentials: Boolean(options.withCredentials),
  reconnection: false,
  forceNew: true,
  timeout: 10000,
});
const engine = socket.io.engine;
socket.on("connect", () => print({ type: "connect", id: socket.id, transport: engine.transport.name }));
socket.on("connect_error", (err) => print({ type: "connect_error", message: err.message }));
socket.on("disconnect", (reason) => print({ type: "disconnect", reason }));
socket.onAny((name, ...args) => print({ type: "event", name, args }));
process.stdin.resume();
process.stdin.on("end", () => {
  socket.disconnect();
  process.exit(0);
});
