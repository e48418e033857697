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

// {"count": N, "tokens": [..]}: N sockets for each token at once (a load for the memory measurement);
// prints {"type":"connected","n":..} once all are connected, or connect_error for each that fails.
if (options.count) {
  const total = options.count * options.tokens.length;
  let connected = 0;
  for (let i = 0; i < total; i++) {
    const token = options.tokens[i % options.tokens.length];
    const s = io(options.url, { transports: options.transports, auth: { token }, reconnection: false,
                                forceNew: true, timeout: 20000 });
    s.on("connect", () => { if (++connected === total) print({ type: "connected", n: connected }); });
    s.on("connect_error", (err) => print({ type: "connect_error", message: err.message }));
  }
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
