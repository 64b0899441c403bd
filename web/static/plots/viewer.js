// plotserver's live viewer: a snapshot, then updates applied in sequence order.
//
// The rules mirror core/window.py: "extend" appends and keeps the newest maxpoints,
// "set" replaces (null resets a style). Every update changes a local model of the figure at
// once and is noted as pending drawing work. When the page's one draw loop (frames.js) gives the
// viewer its turn, the pending work goes to plotly.js in as few calls as it allows: one
// restyle/relayout (Plotly.update) for what was replaced, one extendTraces with maxpoints for
// what was appended, a full Plotly.react only after a snapshot. Pending appends are capped at
// maxpoints, so a tab in the background (no animation frames), or a panel that waits its turn,
// holds at most one window per trace, and catches up in one draw.
// Annotations (docs/annotations.md) come with the snapshot and as messages of their own; they
// are drawn over the figure by annotations.js, never written into the model's layout.
(function () {
  "use strict";

  // Tests and embedding pages may tune these by setting window.plotserverViewerOptions first.
  const options = Object.assign(
    // fullRedraw: a Plotly.react of the whole figure every frame (the benchmark's baseline).
    { retryMinMs: 500, retryMaxMs: 10000, offlineAfterMs: 10000, fullRedraw: false },
    window.plotserverViewerOptions || {}
  );

  // One viewer: the plot page's (#plot, over a socket of its own), or one panel of a dashboard
  // (dashboards' dashboard.js), whose messages come over the dashboard's socket: `parts.channel`
  // takes what it sends ({send(message)}) and the dashboard hands it each message (handle()).
  // The body keeps the indentation it had before it was a function.
  function start(el, parts) {
  const badge = parts.badge || null;
  const lastUpdate = parts.lastUpdate || null;
  const producers = parts.producers || null;
  const channel = parts.channel || null;
  const plotId = el.dataset.plotId;
  const shareKey = el.dataset.shareKey;
  // The one plot config of every page that draws a plot (history.js draws with it too).
  // plotly.js 4 shows a "Share chart..." button that uploads the figure to Plotly's cloud
  // (showSendToCloud, on by default, to plotlyServerURL): nothing leaves this server.
  const config = {
    responsive: true,
    displaylogo: false,
    showSendToCloud: false,
    plotlyServerURL: "",
    toImageButtonOptions: { filename: el.dataset.filename || "plot-" + plotId },
  };

  const CLOSE_TOO_SLOW = 4408; // see docs/websocket.md, "Close codes"

  let socket = null;
  let retryTimer = null;
  let failures = 0;
  let offlineTimer = null;
  let fatal = false;
  let deleted = false;
  let resyncing = false;

  let model = null; // {data, layout}: the figure as the server holds it
  let traces = []; // per trace: {index, stream, maxpoints}
  let seqs = {}; // stream id -> last sequence number applied
  let revision = null; // the plot's edit revision, from the snapshot
  let streams = {}; // stream id -> {connected, last_write_at}
  let pending = freshPending();
  let drawing = false;
  let held = false; // history.js shows other points: keep the model current, draw nothing
  let overlays = []; // runs.js: extra traces drawn after the model's (earlier runs), never changed by updates
  let annotations = new Map(); // id -> annotation, in the order they were made
  let drawnAnnotations = ""; // which of them the last frame drew (annotations.js key)
  // annotations.js, loaded before this file; without it, annotations are kept but not drawn.
  const annotationDrawing = window.plotserverAnnotations || null;
  const stats = { frames: 0, react: 0, update: 0, extendTraces: 0, updates: 0, snapshots: 0, replays: 0, annotations: 0, maxCallsPerFrame: 0 };

  function freshPending() {
    // extend: index -> {path: [values]}; replaced: index -> Set of paths; layout: Set of paths.
    return { full: false, extend: new Map(), replaced: new Map(), layout: new Set(), annotations: false };
  }

  // -- the connection ---------------------------------------------------------------------

  function socketUrl() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const params = new URLSearchParams();
    if (shareKey) params.set("share_key", shareKey);
    params.set("presence", "1"); // tell us when a producer connects or goes away
    // On a reconnect, say where we are: the server replays what we missed or sends a snapshot.
    if (model) params.set("since", JSON.stringify({ revision: revision, streams: seqs, annotations: annotations.size }));
    const query = params.toString();
    return scheme + "://" + location.host + "/ws/plots/" + plotId + "/" + (query ? "?" + query : "");
  }

  function connect() {
    clearTimeout(retryTimer);
    retryTimer = null;
    resyncing = false;
    const ws = new WebSocket(socketUrl());
    socket = ws;
    ws.onmessage = function (event) {
      if (ws === socket) handle(JSON.parse(event.data));
    };
    ws.onclose = function (event) {
      if (ws !== socket || fatal) return;
      socket = null;
      if (event.code === CLOSE_TOO_SLOW && document.visibilityState === "visible") {
        // The server closed a socket that took nothing for a while (a page that was busy or
        // throttled): it reads again now, so come back at once and catch up by sequence number.
        connect();
        return;
      }
      failures += 1;
      if (offlineTimer === null) {
        // Still retrying, but after a while without the server "reconnecting" would be a promise.
        offlineTimer = setTimeout(function () { setStatus("offline"); }, options.offlineAfterMs);
      }
      if (!navigator.onLine) {
        setStatus("offline");
        return; // the "online" event reconnects
      }
      if (badge && badge.dataset.state !== "offline") setStatus("reconnecting");
      scheduleReconnect();
    };
  }

  function scheduleReconnect() {
    if (retryTimer !== null) return;
    const delay = Math.min(options.retryMinMs * Math.pow(2, failures - 1), options.retryMaxMs);
    retryTimer = setTimeout(connect, delay * (0.75 + Math.random() * 0.25));
  }

  function reconnectNow() {
    if (channel || fatal || socket !== null) return;
    connect();
  }

  // A tab coming back from the background, or a network coming back, should not wait out a
  // backoff timer that the browser may have throttled.
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible") {
      reconnectNow();
      if (hasPending()) scheduleDraw();
    }
  });
  window.addEventListener("online", reconnectNow);
  // A lost network can leave a socket half-open for minutes: drop it now and say so.
  window.addEventListener("offline", function () {
    if (fatal || channel) return;
    setStatus("offline");
    if (socket) socket.close();
  });

  function send(message) {
    if (channel) channel.send(message);
    else if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(message));
  }

  function handle(message) {
    switch (message.type) {
      case "snapshot":
        adopt(message);
        break;
      case "updates":
        if (message.replay) stats.replays += 1;
        if (!model) return;
        applyUpdates(message.updates || []);
        markLive();
        break;
      case "annotation":
        for (const item of message.annotations || []) annotations.set(item.id, item);
        annotationsChanged();
        break;
      case "annotation_deleted":
        for (const id of message.ids || []) annotations.delete(id);
        annotationsChanged();
        break;
      case "annotations":
        setAnnotations(message.annotations || []);
        annotationsChanged();
        break;
      case "stream":
        if (streams[String(message.stream)]) {
          Object.assign(streams[String(message.stream)], { connected: !!message.connected });
          showProducers();
          if (badge && badge.dataset.state === "live") setStatus("live");
        }
        // A producer that went away says how far it got: if an update never reached this page,
        // no later one will reveal the gap, so take a snapshot now.
        if (message.seq !== undefined && seqs[String(message.stream)] !== undefined &&
            message.seq > seqs[String(message.stream)]) {
          requestResync();
        }
        break;
      case "error":
        fatal = true;
        // 410: the plot was deleted; its producers' streams ended with it.
        deleted = message.status === 410;
        setStatus(deleted ? "deleted" : "offline", deleted ? "" : message.message);
        if (deleted && model) showProducers();
        if (socket) socket.close();
        break;
    }
  }

  function markLive() {
    failures = 0;
    clearTimeout(offlineTimer);
    offlineTimer = null;
    setStatus("live");
  }

  // -- the model --------------------------------------------------------------------------

  function adopt(snapshot) {
    stats.snapshots += 1;
    resyncing = false;
    model = { data: snapshot.figure.data, layout: snapshot.figure.layout || {} };
    revision = snapshot.revision === undefined ? null : snapshot.revision;
    traces = snapshot.traces;
    streams = snapshot.streams || {};
    setAnnotations(snapshot.annotations || []);
    seqs = {};
    let newest = null;
    Object.keys(streams).forEach(function (id) {
      seqs[id] = streams[id].seq;
      const at = streams[id].last_write_at;
      if (at && (!newest || at > newest)) newest = at;
    });
    if (newest) stamp(new Date(newest));
    pending = freshPending();
    pending.full = true;
    markLive();
    showProducers();
    scheduleDraw();
  }

  function applyUpdates(updates) {
    let applied = 0;
    for (const update of updates) {
      if (resyncing) break;
      const id = String(update.stream);
      const last = seqs[id];
      if (last !== undefined && update.seq <= last) continue; // already held
      if (last === undefined || update.seq !== last + 1) {
        // A gap: never show a window with a hole in it; take a fresh snapshot instead.
        requestResync();
        break;
      }
      seqs[id] = update.seq;
      applyUpdate(update);
      applied += 1;
      const stream = streams[id];
      if (stream) {
        stream.last_write_at = new Date().toISOString();
        if (!stream.connected) {
          stream.connected = true;
          showProducers();
        }
      }
    }
    if (applied) {
      stats.updates += applied;
      stamp(new Date());
      scheduleDraw();
    }
  }

  function setAnnotations(list) {
    annotations = new Map();
    for (const item of list) annotations.set(item.id, item);
  }

  function annotationList() {
    return Array.from(annotations.values()).sort(function (a, b) { return a.id - b.id; });
  }

  function annotationsChanged() {
    stats.annotations += 1;
    if (!model || !annotationDrawing) return;
    if (held) {
      // history.js (or runs.js) shows other points: redraw the annotations over what is drawn.
      if (el.data && el.layout) Plotly.relayout(el, annotationDrawing.parts(el.layout, el.data, annotationList()));
      return;
    }
    pending.annotations = true;
    scheduleDraw();
  }

  function requestResync() {
    if (resyncing) return;
    resyncing = true;
    send({ type: "resync" });
  }

  function applyUpdate(update) {
    for (const key of Object.keys(update.traces)) {
      const index = Number(key);
      const trace = model.data[index];
      const info = traces[index];
      if (!trace || !info) continue;
      const delta = update.traces[key];
      // A new run: the window empties first, and the run begins with this update's points.
      for (const path of delta.clear || []) {
        setPath(trace, path, path.indexOf(".") < 0 ? [] : null);
        noteReplaced(index, path);
      }
      for (const [path, value] of Object.entries(delta.set || {})) {
        setPath(trace, path, value);
        noteReplaced(index, path);
      }
      for (const [path, values] of Object.entries(delta.extend || {})) {
        extendPath(trace, index, path, values, info.maxpoints);
      }
    }
    for (const [path, value] of Object.entries(update.layout || {})) {
      setPath(model.layout, path, value);
      pending.layout.add(path);
    }
    if (update.run) {
      const detail = { stream: update.stream, seq: update.seq, number: update.run.number, name: update.run.name };
      el.dispatchEvent(new CustomEvent("plotserver:run", { detail: detail }));
    }
  }

  function extendPath(trace, index, path, values, maxpoints) {
    const current = getPath(trace, path);
    if (!Array.isArray(current) || maxpoints <= 0) {
      setPath(trace, path, maxpoints > 0 ? values.slice(-maxpoints) : []);
      noteReplaced(index, path);
      return;
    }
    current.push.apply(current, values);
    if (current.length > maxpoints) current.splice(0, current.length - maxpoints);
    if (pending.full || covered(pending.replaced.get(index), path)) return; // drawn whole anyway
    let byPath = pending.extend.get(index);
    if (!byPath) pending.extend.set(index, (byPath = {}));
    const queued = byPath[path] || (byPath[path] = []);
    queued.push.apply(queued, values);
    // extendTraces keeps the newest maxpoints of old + new: older queued values cannot show.
    if (queued.length > maxpoints) queued.splice(0, queued.length - maxpoints);
  }

  function noteReplaced(index, path) {
    if (pending.full) return;
    let paths = pending.replaced.get(index);
    if (!paths) pending.replaced.set(index, (paths = new Set()));
    paths.add(path);
    const byPath = pending.extend.get(index);
    if (byPath) {
      for (const queued of Object.keys(byPath)) {
        if (queued === path || queued.startsWith(path + ".") || path.startsWith(queued + ".")) delete byPath[queued];
      }
    }
  }

  function covered(paths, path) {
    if (!paths) return false;
    for (const replaced of paths) {
      if (replaced === path || path.startsWith(replaced + ".") || replaced.startsWith(path + ".")) return true;
    }
    return false;
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
    if (value === null) delete object[last];
    else object[last] = value;
  }

  // plotly.js keeps (and mutates) what it is given: it gets copies, never the model itself.
  function copy(value) {
    if (value === undefined) return null; // restyle and relayout reset to the default on null
    return value !== null && typeof value === "object" ? structuredClone(value) : value;
  }

  // -- drawing ----------------------------------------------------------------------------

  function hasPending() {
    return pending.full || pending.extend.size > 0 || pending.replaced.size > 0 || pending.layout.size > 0 ||
      pending.annotations;
  }

  // The page's draw loop calls draw() in a frame of its choosing (frames.js).
  const frame = window.plotserverFrames.add(el, draw);
  function scheduleDraw() {
    frame.request();
  }

  function draw() {
    // While plotly.js is still busy with the last draw, done() asks for the next one.
    if (!model || !hasPending() || held || drawing) return;
    const work = pending;
    pending = freshPending();
    if (options.fullRedraw) work.full = true;
    // A streamed change of the layout's own shapes or annotations moves their indexes: the
    // annotations drawn after them are laid out again with the whole figure.
    for (const path of work.layout) if (/^(shapes|annotations)\b/.test(path)) work.full = true;
    stats.frames += 1;
    let promises;
    try {
      promises = plotCalls(work);
    } catch (error) {
      // A call that throws at once (plotly.js checking its arguments) is this plot's alone: the
      // figure is drawn again from the model, after a second, so that a draw that always throws
      // does not take every frame.
      console.warn("plotserver: drawing failed, redrawing from the model", error);
      pending.full = true;
      setTimeout(scheduleDraw, 1000);
      return;
    }
    drawing = true;
    Promise.all(promises).then(done, function (error) {
      console.warn("plotserver: drawing failed, redrawing from the model", error);
      pending.full = true;
      done();
    });
    function done() {
      drawing = false;
      if (work.full) el.dispatchEvent(new CustomEvent("plotserver:drawn"));
      if (hasPending()) scheduleDraw();
    }
  }

  // plotly.js's calls for one draw's work; the promises of what they draw.
  function plotCalls(work) {
    let calls = 0;
    const promises = [];
    if (work.full) {
      const layout = window.plotserverTheme ? window.plotserverTheme.layout(copy(model.layout)) : copy(model.layout);
      // The tool chosen in the toolbar (pan, zoom, ...) stays chosen, unless the figure sets one.
      if (layout.dragmode === undefined && el._fullLayout) layout.dragmode = el._fullLayout.dragmode;
      if (annotationDrawing) {
        const list = annotationList();
        annotationDrawing.decorate(layout, model.data, list);
        drawnAnnotations = annotationDrawing.key(layout, model.data, list);
      }
      promises.push(Plotly.react(el, copy(model.data).concat(copy(overlays)), layout, config));
      stats.react += 1;
      calls += 1;
    } else {
      const styleUpdate = {};
      const indices = Array.from(work.replaced.keys()).sort(function (a, b) { return a - b; });
      indices.forEach(function (index, position) {
        for (const path of work.replaced.get(index)) {
          if (!styleUpdate[path]) styleUpdate[path] = new Array(indices.length).fill(undefined);
          // An array value must be wrapped: restyle reads the outer array as one value per trace.
          styleUpdate[path][position] = copy(getPath(model.data[index], path));
        }
      });
      const layoutUpdate = {};
      for (const path of work.layout) layoutUpdate[path] = copy(getPath(model.layout, path));
      // Annotations changed, or points moved the x range past one: draw them again.
      const list = annotationList();
      const now = annotationDrawing && (list.length || drawnAnnotations) ? annotationDrawing.key(model.layout, model.data, list) : "";
      if (annotationDrawing && (work.annotations || now !== drawnAnnotations)) {
        Object.assign(layoutUpdate, annotationDrawing.parts(model.layout, model.data, list));
        drawnAnnotations = now;
      }
      if (indices.length || Object.keys(layoutUpdate).length) {
        promises.push(Plotly.update(el, styleUpdate, layoutUpdate, indices));
        stats.update += 1;
        calls += 1;
      }
      for (const group of extendGroups(work.extend)) {
        promises.push(Plotly.extendTraces(el, group.update, group.indices, group.maxpoints));
        stats.extendTraces += 1;
        calls += 1;
      }
    }
    stats.maxCallsPerFrame = Math.max(stats.maxCallsPerFrame, calls);
    return promises;
  }

  // extendTraces takes one value list per path per trace, so traces appending to the same
  // paths (the usual case: all of them to x and y) share one call.
  function extendGroups(extend) {
    const groups = new Map();
    for (const [index, byPath] of extend) {
      const paths = Object.keys(byPath).sort();
      if (!paths.length) continue;
      const signature = paths.join("|");
      let group = groups.get(signature);
      if (!group) groups.set(signature, (group = { update: {}, maxpoints: {}, indices: [] }));
      group.indices.push(index);
      for (const path of paths) {
        (group.update[path] = group.update[path] || []).push(byPath[path]);
        (group.maxpoints[path] = group.maxpoints[path] || []).push(traces[index].maxpoints);
      }
    }
    return groups.values();
  }

  // -- status -----------------------------------------------------------------------------

  // Connected, the badge says what the plot is: "live" once a stream has fed it, "static" when
  // no trace has a stream (it changes only when edited), "waiting for data" before the first point.
  // data-state stays the connection's.
  function kind() {
    const ids = traces.filter(function (t) { return t.stream !== null && t.stream !== undefined; }).map(function (t) { return String(t.stream); });
    if (!ids.length) return "static";
    const fed = ids.some(function (id) {
      const info = streams[id] || {};
      return info.connected || info.last_write_at || info.seq > 0;
    });
    return fed ? "live" : "waiting";
  }

  // Called with every message: the badge is written only when it changes, since each write
  // makes the browser lay the page out again before plotly.js next measures it.
  function setStatus(state, detail) {
    if (!badge) return;
    const shown = state === "live" && model ? kind() : state;
    // (The class "waiting" is the waiting section's: the badge's is "awaiting".)
    change(badge, "className", badge.className.replace(/\b(live|reconnecting|offline|connecting|deleted|static|awaiting)\b/g, "").trim() + " " + (shown === "waiting" ? "awaiting" : shown));
    change(badge.dataset, "state", state);
    const words = { live: "live", static: "static", waiting: "waiting for data", reconnecting: "reconnecting…", offline: "offline", connecting: "connecting…", deleted: "deleted" };
    change(badge, "textContent", detail ? words[shown] + ": " + detail : words[shown]);
    const titles = {
      static: "No trace of this plot has a stream: it changes when it is edited.",
      waiting: "Connected; no producer has streamed to this plot yet.",
    };
    change(badge, "title", state === "offline" && !fatal ? "The server is unreachable; still retrying." : titles[shown] || "");
  }

  function change(object, key, value) {
    if (object[key] !== value) object[key] = value;
  }

  // "last update 5 s ago", the exact time on hover: the one time format of the pages (ui.js),
  // kept current between updates.
  function stamp(when) {
    const iso = when.toISOString();
    el.dataset.lastUpdate = iso;
    if (!lastUpdate) return;
    const time = window.plotserverTime;
    lastUpdate.textContent = "last update " + (time ? time.relative(iso, Date.now()) : when.toLocaleTimeString());
    lastUpdate.title = time ? time.exact(iso) : "";
    lastUpdate.setAttribute("datetime", iso);
  }
  if (lastUpdate) {
    setInterval(function () {
      if (el.dataset.lastUpdate) stamp(new Date(el.dataset.lastUpdate));
    }, 10000);
  }

  function showProducers() {
    if (!producers) return;
    producers.textContent = "";
    traces.forEach(function (trace) {
      if (trace.stream === null || trace.stream === undefined) return;
      const info = streams[String(trace.stream)] || {};
      const item = document.createElement("li");
      const name = (model.data[trace.index] || {}).name || "trace " + trace.index;
      const state = deleted ? "deleted" : info.connected ? "streaming" : "idle";
      item.className = state;
      item.dataset.trace = String(trace.index);
      item.dataset.state = state;
      item.textContent = name + ": " + state;
      if (info.last_write_at) item.title = "last write " + new Date(info.last_write_at).toLocaleString();
      producers.appendChild(item);
    });
  }

  // Dates are kept in UTC and plotly.js draws them as they are (docs/viewing.md, "Dates"): the
  // label says so while an axis, whichever draw made it, shows dates.
  const timeZone = parts.timeZone || null;
  function labelTimeZone() {
    const full = el._fullLayout || {};
    timeZone.hidden = !Object.keys(full).some(function (key) {
      const axes = /^scene\d*$/.test(key) ? [full[key].xaxis, full[key].yaxis, full[key].zaxis] : [full[key]];
      return /^([xy]axis|scene)\d*$/.test(key) && axes.some(function (axis) { return axis && axis.type === "date"; });
    });
  }
  if (timeZone) {
    el.addEventListener("plotserver:drawn", function first() {
      el.removeEventListener("plotserver:drawn", first);
      labelTimeZone();
      el.on("plotly_afterplot", labelTimeZone); // plotly.js's event API exists once it drew
    });
  }

  function redrawWhole() {
    pending = freshPending();
    pending.full = true;
    scheduleDraw();
  }

  // For tests, benchmarks and the curious: the figure as this page holds it, and counters.
  const viewer = {
    figure: function () { return model; },
    seqs: function () { return Object.assign({}, seqs); },
    state: function () { return badge ? badge.dataset.state : socket ? "live" : "offline"; },
    stats: stats,
    element: el,
    config: config,
    traces: function () { return traces; },
    // The plot's annotations, oldest first; decorate(layout, data) draws them in a layout
    // (history.js and runs.js draw with it).
    annotations: annotationList,
    decorate: function (layout, data) {
      return annotationDrawing ? annotationDrawing.decorate(layout, data, annotationList()) : layout;
    },
    // One rule for a dotted path, for history.js and runs.js too (null removes the attribute).
    setPath: setPath,
    // history.js: hold() stops drawing (updates still change the model, nothing is lost);
    // release() draws the whole model again, following the tail.
    hold: function () { held = true; },
    release: function () {
      held = false;
      redrawWhole();
    },
    // runs.js: traces drawn after the figure's own (their indexes follow the model's, so the
    // live updates' extendTraces and restyles never reach them).
    overlays: function () { return overlays; },
    setOverlays: function (traces) {
      overlays = traces;
      redrawWhole();
    },
    // A dashboard's panel: a message of its plot, and where it stands, for the socket's `since`.
    handle: handle,
    position: function () {
      return model ? { revision: revision, streams: Object.assign({}, seqs), annotations: annotations.size } : null;
    },
  };

  setStatus("connecting");
  if (!channel) connect();
  return viewer;
  }

  window.plotserverViewers = { start: start };
  const page = document.getElementById("plot");
  if (page) {
    window.plotserverViewer = start(page, {
      badge: document.getElementById("status"),
      lastUpdate: document.getElementById("last-update"),
      producers: document.getElementById("producers"),
      timeZone: document.getElementById("time-zone"),
    });
  }
})();
