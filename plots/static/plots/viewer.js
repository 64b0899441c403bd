// plotserver's live viewer: a snapshot, then updates applied in sequence order.
//
// The rules mirror streaming/window.py: "extend" appends and keeps the newest maxpoints,
// "set" replaces (null resets a style). Updates change a local copy of the figure at once;
// plotly.js draws it at most once per animation frame, however fast updates arrive.
(function () {
  "use strict";

  const el = document.getElementById("plot");
  const badge = document.getElementById("status");
  const lastUpdate = document.getElementById("last-update");
  const producers = document.getElementById("producers");
  const plotId = el.dataset.plotId;
  const shareKey = el.dataset.shareKey;

  let socket = null;
  let figure = null;     // {data, layout}: what plotly.js is given
  let traces = [];       // per trace: {index, stream, maxpoints}
  let seqs = {};         // stream id -> last sequence number applied
  let streams = {};      // stream id -> {connected, last_write_at}
  let revision = 0;
  let drawPending = false;
  let retryDelay = 500;
  let stopped = false;

  function socketUrl() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const query = shareKey ? "?share_key=" + encodeURIComponent(shareKey) : "";
    return scheme + "://" + location.host + "/ws/plots/" + plotId + "/" + query;
  }

  function setStatus(state, detail) {
    if (!badge) return;
    badge.className = "badge " + state;
    badge.dataset.state = state;
    badge.textContent = detail ? state + ": " + detail : state;
  }

  function connect() {
    socket = new WebSocket(socketUrl());
    socket.onmessage = function (event) { handle(JSON.parse(event.data)); };
    socket.onclose = function () {
      if (stopped) return;
      setStatus("reconnecting");
      setTimeout(connect, retryDelay);
      retryDelay = Math.min(retryDelay * 2, 10000);
    };
  }

  function handle(message) {
    if (message.type === "snapshot") {
      retryDelay = 500;
      figure = { data: message.figure.data, layout: message.figure.layout || {} };
      traces = message.traces;
      streams = message.streams;
      seqs = {};
      Object.keys(streams).forEach(function (id) { seqs[id] = streams[id].seq; });
      setStatus("live");
      showProducers();
      scheduleDraw();
    } else if (message.type === "updates") {
      for (const update of message.updates) {
        if (!applyUpdate(update)) return;
      }
      stamp(new Date());
      scheduleDraw();
    } else if (message.type === "error") {
      stopped = true;
      setStatus("offline", message.message);
      socket.close();
    }
  }

  // Apply one update; false when it does not follow on (a gap): then ask for a fresh snapshot.
  function applyUpdate(update) {
    const id = String(update.stream);
    const last = seqs[id];
    if (last !== undefined && update.seq <= last) return true;  // already in the snapshot
    if (last === undefined || update.seq !== last + 1) {
      socket.send(JSON.stringify({ type: "resync" }));
      return false;
    }
    seqs[id] = update.seq;
    if (streams[id] && !streams[id].connected) {
      streams[id].connected = true;
      showProducers();
    }
    for (const index of Object.keys(update.traces)) {
      const trace = figure.data[index];
      const maxpoints = traces[index].maxpoints;
      const delta = update.traces[index];
      for (const [path, values] of Object.entries(delta.extend || {})) {
        const current = getPath(trace, path);
        if (Array.isArray(current)) {
          current.push.apply(current, values);
          if (current.length > maxpoints) current.splice(0, current.length - maxpoints);
        } else {
          setPath(trace, path, values.slice(-maxpoints));
        }
      }
      for (const [path, value] of Object.entries(delta.set || {})) setPath(trace, path, value);
    }
    for (const [path, value] of Object.entries(update.layout || {})) setPath(figure.layout, path, value);
    return true;
  }

  function getPath(object, path) {
    for (const key of path.split(".")) {
      if (object === null || typeof object !== "object" || !(key in object)) return undefined;
      object = object[key];
    }
    return object;
  }

  function setPath(object, path, value) {
    const keys = path.split(".");
    const last = keys.pop();
    for (const key of keys) {
      if (object[key] === null || typeof object[key] !== "object" || Array.isArray(object[key])) object[key] = {};
      object = object[key];
    }
    if (value === null && last in object && !Array.isArray(object[last])) delete object[last];
    else object[last] = value;
  }

  function scheduleDraw() {
    if (drawPending) return;
    drawPending = true;
    requestAnimationFrame(draw);
  }

  function draw() {
    drawPending = false;
    if (!figure) return;
    figure.layout.datarevision = ++revision;
    Plotly.react(el, figure.data, figure.layout, { responsive: true, displaylogo: false });
  }

  function stamp(when) {
    if (lastUpdate) lastUpdate.textContent = "last update " + when.toLocaleTimeString();
    el.dataset.lastUpdate = when.toISOString();
  }

  function showProducers() {
    if (!producers) return;
    producers.textContent = "";
    traces.forEach(function (trace) {
      if (trace.stream === null) return;
      const info = streams[String(trace.stream)] || {};
      const item = document.createElement("li");
      const name = (figure.data[trace.index] || {}).name || "trace " + trace.index;
      item.className = info.connected ? "streaming" : "idle";
      item.textContent = name + ": " + (info.connected ? "streaming" : "idle");
      producers.appendChild(item);
    });
  }

  // For tests and the curious: the figure as this page holds it.
  window.plotserverViewer = {
    figure: function () { return figure; },
    seqs: function () { return seqs; },
  };

  setStatus("connecting");
  connect();
})();
