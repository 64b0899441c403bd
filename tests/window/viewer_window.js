// Runs the browser's viewer.js (and frames.js, its draw loop) in node, without a browser: the
// page, its socket and plotly.js are stubs, and nothing is ever drawn (no animation frames).
// Reads from stdin a JSON list of runs, each {"messages": [what the server sends]}, hands each
// message to the page's socket, and writes the figure the page then holds, one per run, as JSON
// to stdout.
"use strict";
const fs = require("fs");
const path = require("path");
const vm = require("vm");

const scripts = ["frames.js", "viewer.js"].map((name) => ({
  name,
  source: fs.readFileSync(path.join(__dirname, "../../web/static/plots", name), "utf8"),
}));

function figureAfter(messages) {
  const sockets = [];
  const plot = { dataset: { plotId: "1" }, dispatchEvent: () => true };
  const context = {
    document: {
      getElementById: (id) => (id === "plot" ? plot : null),
      addEventListener: () => {},
      visibilityState: "visible",
    },
    location: { protocol: "http:", host: "testserver" },
    navigator: { onLine: true },
    URLSearchParams,
    structuredClone,
    CustomEvent: class {
      constructor(type, init) {
        this.type = type;
        this.detail = init && init.detail;
      }
    },
    setTimeout: () => 0,
    clearTimeout: () => {},
    setInterval: () => 0,
    requestAnimationFrame: () => 0,
    WebSocket: class {
      constructor(url) {
        this.url = url;
        this.readyState = 1;
        sockets.push(this);
      }
      send() {}
      close() {}
    },
  };
  context.WebSocket.OPEN = 1;
  context.window = context;
  context.window.addEventListener = () => {};
  vm.createContext(context);
  for (const script of scripts) vm.runInContext(script.source, context, { filename: script.name });
  const socket = sockets[0];
  for (const message of messages) socket.onmessage({ data: JSON.stringify(message) });
  return context.plotserverViewer.figure();
}

const runs = JSON.parse(fs.readFileSync(0, "utf8"));
process.stdout.write(JSON.stringify(runs.map((run) => figureAfter(run.messages))));
