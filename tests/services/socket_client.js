// The official Socket.IO client (socket.io-client, pinned in package.json) driven by the Rust tests.
//
//   node socket_client.js '<options as JSON>'
//
// Options: {url, transports?: ["websocket"] | ["polling", "websocket"], auth?: {...}, query?: {...},
//           extraHeaders?: {...}, events?: ["notification::<id>", ...] (default: every event)}
//
// Prints one JSON line per thing that happens, on stdout:
//   {"type":"connect","id":..,"transport":<now>,"openedWith":<the transport of the handshake>}
//   {"type":"upgrade","transport":"websocket"}
//   {"type":"connect_error","message":..,"data":..}
//   {"type":"event","name":..,"args":[..]}
//   {"type":"disconnect","reason":..,"code":<WebSocket close code or null>,"description":..}
// It never reconnects (each test sees exactly what one connection does), and exits when its standard
// input closes (the test dropped it) or on the command "close" (a clean client-side disconnect).
"use strict";

const { io } = require("socket.io-client");

const options = JSON.parse(process.argv[2] || "{}");
const print = (obj) => process.stdout.write(JSON.stringify(obj) + "\n");

const socket = io(options.url, {
  transports: options.transports || ["polling", "websocket"],
  auth: options.auth,
  query: options.query,
  extraHeaders: options.extraHeaders,
  reconnection: false,
  forceNew: true,
  timeout: 10000,
});

// The manager opens its Engine.IO connection at once: watch it from the start, since the upgrade
// may complete before or after the namespace connects.
const engine = socket.io.engine;
let openedWith = null;
engine.once("open", () => {
  openedWith = engine.transport.name;
});
engine.once("upgrade", (transport) => print({ type: "upgrade", transport: transport.name }));

socket.on("connect", () => {
  print({ type: "connect", id: socket.id, transport: engine.transport.name, openedWith });
});

socket.on("connect_error", (err) => {
  print({ type: "connect_error", message: err.message, data: err.data === undefined ? null : err.data });
});

socket.on("disconnect", (reason, details) => {
  // For a WebSocket that the server closed, `details.context` is the close event with its code.
  const code = details && details.context && details.context.code !== undefined ? details.context.code : null;
  const description = details && typeof details.description === "string" ? details.description : null;
  print({ type: "disconnect", reason, code, description });
});

socket.onAny((name, ...args) => {
  if (!options.events || options.events.includes(name)) {
    print({ type: "event", name, args });
  }
});

process.stdin.setEncoding("utf8");
let input = "";
process.stdin.on("data", (chunk) => {
  input += chunk;
  let nl;
  while ((nl = input.indexOf("\n")) >= 0) {
    const command = input.slice(0, nl).trim();
    input = input.slice(nl + 1);
    if (command === "close") {
      socket.disconnect();
      print({ type: "closed" });
    }
  }
});
process.stdin.on("end", () => {
  socket.disconnect();
  process.exit(0);
});
