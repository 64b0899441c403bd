// plotserver's history view and replay, for a plot whose retention keeps more than its window
// (docs/history.md, "On the page"): on the plot page, and in each dashboard panel whose plot
// keeps history (dashboards' dashboard.js attaches it, docs/dashboards.md).
//
// Zooming or panning the x axis (a plotly_relayout with an x range) leaves live view: the page
// reads the visible range from GET /api/plots/<id>/traces/<i>/points/ at screen resolution (one
// point per pixel of the plot's width) and draws it; every later zoom or pan reads again,
// finer as the range narrows. Reads are debounced, and an answer to anything but the latest
// range is dropped (its request aborted). Meanwhile viewer.js keeps applying live updates to
// its model without drawing them; "Live" (or a double-click that autoscales) draws the model
// again and follows the tail. Replay plays a range back through the same drawing calls as live
// updates, at a chosen speed.
(function () {
  "use strict";

  const options = Object.assign(
    {
      // historyDebounceMs: how long the axis must rest before a range is read.
      // historyMethod: lttb (the shape as the eye sees it) or minmax (every extreme; two points a pixel).
      // replayMaxPoints: the most points a replay reads per trace (the server's HISTORY_MAX_POINTS caps it too).
      historyDebounceMs: 150,
      historyMethod: "lttb",
      historyMaxPoints: 100000,
      replayMaxPoints: 100000,
    },
    window.plotserverViewerOptions || {}
  );

  // The history view of one viewer's plot: the plot page's, or a dashboard panel's. `parts`
  // holds that plot's own controls, each optional: live (a "Back to live" button), note (where
  // it says what it shows), play, stop and speed (replay), and the shareKey its reads pass on.
  // The body keeps the indentation it had before it was a function.
  function attach(viewer, parts) {
  const el = viewer.element;
  const liveButton = parts.live || null;
  const note = parts.note || null;
  const playButton = parts.play || null;
  const stopButton = parts.stop || null;
  const speedSelect = parts.speed || null;
  const plotId = el.dataset.plotId;
  const shareKey = parts.shareKey || "";

  let mode = "live"; // live | history | replay
  let debounceTimer = null;
  let generation = 0; // the latest range asked for; answers to older ones are dropped
  let controller = null;
  let replay = null;
  let listening = false;
  const stats = { requests: 0, drawn: 0, dropped: 0, failed: 0, lastRange: null, replayed: 0 };

  // plotly.js's event API exists once the first figure is drawn.
  el.addEventListener("plotserver:drawn", function () {
    if (listening || typeof el.on !== "function") return;
    listening = true;
    el.on("plotly_relayout", onRelayout);
  });
  if (liveButton) liveButton.addEventListener("click", goLive);
  if (playButton) playButton.addEventListener("click", startReplay);
  if (stopButton) stopButton.addEventListener("click", goLive);

  function onRelayout(event) {
    if (!event) return;
    if (event["xaxis.autorange"] === true || event["xaxis.autorange"] === "true") {
      if (mode !== "live") goLive(); // a double-click or "reset axes": back to the tail
      return;
    }
    const touched = Object.keys(event).some(function (key) { return key.startsWith("xaxis.range"); });
    if (!touched) return;
    stopReplay();
    if (mode !== "history") {
      viewer.hold();
      mode = "history";
      show();
    }
    clearTimeout(debounceTimer);
    debounceTimer = setTimeout(readVisible, options.historyDebounceMs);
  }

  // -- the visible range ------------------------------------------------------------------

  function visibleRange() {
    const axis = el._fullLayout && el._fullLayout.xaxis;
    if (!axis || !Array.isArray(axis.range)) return null;
    let [from, to] = axis.range;
    if (axis.type === "log") [from, to] = [Math.pow(10, from), Math.pow(10, to)];
    if (typeof from === "number" && from > to) [from, to] = [to, from];
    return { from: from, to: to, type: axis.type };
  }

  function pixelWidth() {
    const size = el._fullLayout && el._fullLayout._size;
    return Math.max(4, Math.round((size && size.w) || el.clientWidth || 800));
  }

  function pointsUrl(index, range, maxPoints, method) {
    const params = new URLSearchParams();
    params.set("from", String(range.from));
    params.set("to", String(range.to));
    params.set("max_points", String(maxPoints));
    params.set("method", method);
    if (shareKey) params.set("share_key", shareKey);
    return "/api/plots/" + plotId + "/traces/" + index + "/points/?" + params.toString();
  }

  function streamed() {
    return viewer.traces().filter(function (t) { return t.stream !== null && t.stream !== undefined; });
  }

  // Read every streamed trace over `range`; resolve with the answers, or null when a later
  // range was asked for meanwhile.
  function readAll(range, maxPoints, method) {
    const mine = ++generation;
    if (controller) controller.abort();
    controller = new AbortController();
    const signal = controller.signal;
    stats.requests += 1;
    stats.lastRange = [range.from, range.to];
    const reads = streamed().map(function (trace) {
      return fetch(pointsUrl(trace.index, range, maxPoints, method), {
        signal: signal,
        credentials: "same-origin",
        headers: { Accept: "application/json" },
      }).then(function (response) {
        if (!response.ok) {
          return response.json().then(
            function (body) { throw new Error(body.message || response.status); },
            function () { throw new Error(String(response.status)); }
          );
        }
        return response.json();
      });
    });
    return Promise.all(reads).then(
      function (answers) {
        if (mine !== generation) {
          stats.dropped += 1; // a stale answer: a newer range is on its way
          return null;
        }
        return answers;
      },
      function (error) {
        if (mine !== generation || error.name === "AbortError") return null;
        stats.failed += 1;
        say("could not read the history: " + error.message);
        return null;
      }
    );
  }

  function readVisible() {
    const range = visibleRange();
    if (!range || mode !== "history") return;
    const method = options.historyMethod;
    const width = pixelWidth();
    const maxPoints = Math.min(options.historyMaxPoints, method === "minmax" ? 2 * width : width);
    say("reading " + describe(range) + "…");
    readAll(range, maxPoints, method).then(function (answers) {
      if (!answers || mode !== "history") return;
      const figure = viewer.figure();
      const data = structuredClone(figure.data);
      let total = 0;
      answers.forEach(function (answer) {
        const trace = data[answer.trace];
        if (!trace) return;
        for (const [path, values] of Object.entries(answer.points)) viewer.setPath(trace, path, values);
        total += answer.returned;
      });
      const layout = structuredClone(figure.layout || {});
      layout.xaxis = Object.assign(layout.xaxis || {}, { autorange: false, range: el._fullLayout.xaxis.range.slice() });
      // The tool chosen in the toolbar (pan, zoom, ...) stays chosen: the model's layout lacks it.
      layout.dragmode = el._fullLayout.dragmode;
      // The y axis fits what is in view: older points may lie far from the window's.
      layout.yaxis = Object.assign(layout.yaxis || {}, { autorange: true });
      delete layout.yaxis.range;
      stats.drawn += 1;
      if (window.plotserverTheme) window.plotserverTheme.layout(layout);
      viewer.decorate(layout, data); // the annotations in the range read (docs/annotations.md)
      Plotly.react(el, data.concat(structuredClone(viewer.overlays())), layout, viewer.config);
      say("history " + describe(range) + ": " + total.toLocaleString() + " points shown");
    });
  }

  // -- live again -------------------------------------------------------------------------

  function goLive() {
    clearTimeout(debounceTimer);
    generation += 1; // whatever is in flight is stale now
    if (controller) controller.abort();
    stopReplay();
    if (mode === "live") return;
    mode = "live";
    show();
    viewer.release(); // the model, with every update that arrived meanwhile, drawn whole
  }

  // -- replay -----------------------------------------------------------------------------

  function startReplay() {
    const range = visibleRange();
    if (!range) return;
    stopReplay();
    clearTimeout(debounceTimer);
    viewer.hold();
    mode = "replay";
    show();
    const speed = Number(speedSelect ? speedSelect.value : 1) || 1;
    say("reading " + describe(range) + " to replay…");
    readAll(range, options.replayMaxPoints, "none").then(function (answers) {
      if (!answers || mode !== "replay") return;
      const figure = viewer.figure();
      const data = structuredClone(figure.data);
      const tracks = [];
      let start = Infinity;
      for (const answer of answers) {
        const trace = data[answer.trace];
        const info = viewer.traces()[answer.trace];
        if (!trace || !info) continue;
        const paths = Object.keys(answer.points);
        for (const path of paths) viewer.setPath(trace, path, []);
        const times = answer.points.x ? answer.points.x.map(playTime) : answer.points[paths[0]].map(function (_, i) { return i * 1000; });
        for (const t of times) if (t < start) start = t;
        tracks.push({ index: answer.trace, paths: paths, columns: answer.points, times: times, next: 0, maxpoints: info.maxpoints });
      }
      const layout = structuredClone(figure.layout || {});
      layout.xaxis = Object.assign(layout.xaxis || {}, { autorange: true });
      layout.yaxis = Object.assign(layout.yaxis || {}, { autorange: true });
      delete layout.xaxis.range;
      delete layout.yaxis.range;
      if (window.plotserverTheme) window.plotserverTheme.layout(layout);
      // The annotations within the range replayed (all of it shows by the end), drawn from the start.
      const whole = data.map(function (trace, index) {
        const answer = answers.find(function (a) { return a.trace === index; });
        return answer ? Object.assign({}, trace, answer.points) : trace;
      });
      viewer.decorate(layout, whole);
      Plotly.react(el, data, layout, viewer.config);
      replay = { tracks: tracks, start: start, speed: speed, began: performance.now(), frame: 0, range: range };
      say("replaying " + describe(range) + " at " + speed + "×");
      replay.frame = requestAnimationFrame(playFrame);
    });
  }

  // When a point plays, in ms of its own time: dates as instants, numbers as seconds.
  function playTime(x) {
    if (typeof x === "number") return x * 1000;
    if (typeof x === "string") {
      const text = x.includes("T") || !x.includes(" ") ? x : x.replace(" ", "T");
      const t = Date.parse(/[zZ]|[+-]\d\d:?\d\d$/.test(text) || text.length <= 10 ? text : text + "Z");
      if (!Number.isNaN(t)) return t;
    }
    return Infinity; // never plays
  }

  function playFrame(now) {
    if (!replay) return;
    const reached = replay.start + (now - replay.began) * replay.speed;
    const groups = new Map();
    let left = false;
    for (const track of replay.tracks) {
      let end = track.next;
      while (end < track.times.length && track.times[end] <= reached) end += 1;
      if (end < track.times.length && track.times[end] !== Infinity) left = true;
      if (end === track.next) continue;
      const signature = track.paths.join("|");
      let group = groups.get(signature);
      if (!group) groups.set(signature, (group = { update: {}, indices: [], maxpoints: [] }));
      group.indices.push(track.index);
      group.maxpoints.push(track.maxpoints);
      for (const path of track.paths) (group.update[path] = group.update[path] || []).push(track.columns[path].slice(track.next, end));
      stats.replayed += end - track.next;
      track.next = end;
    }
    for (const group of groups.values()) {
      const maxpoints = {};
      for (const path of Object.keys(group.update)) maxpoints[path] = group.maxpoints;
      Plotly.extendTraces(el, group.update, group.indices, maxpoints);
    }
    if (left) {
      replay.frame = requestAnimationFrame(playFrame);
    } else {
      say("replayed " + describe(replay.range) + " at " + replay.speed + "×: " + stats.replayed.toLocaleString() + " points");
      replay.frame = 0;
      el.dataset.replay = "done";
    }
  }

  function stopReplay() {
    if (!replay) return;
    cancelAnimationFrame(replay.frame);
    replay = null;
  }

  // -- the page ---------------------------------------------------------------------------

  function show() {
    el.dataset.view = mode;
    if (mode !== "replay") delete el.dataset.replay;
    else el.dataset.replay = "playing";
    if (liveButton) liveButton.hidden = mode === "live";
    if (stopButton) stopButton.disabled = mode !== "replay";
    if (mode === "live") say("");
  }

  function say(text) {
    if (note) note.textContent = text;
  }

  function describe(range) {
    return format(range.from) + " – " + format(range.to);
  }

  function format(value) {
    if (typeof value === "number") return Number(value.toPrecision(6)).toLocaleString();
    return String(value).replace(/(\.\d*?)0+$/, "$1").replace(/\.$/, "");
  }

  el.dataset.view = mode;
  return {
    state: function () { return mode; },
    stats: stats,
    // A dashboard's "Live": every panel back to its tail, whatever its x axis.
    goLive: goLive,
  };
  }

  window.plotserverHistories = { attach: attach };

  // The plot page: its plot and the bar above it, when the plot keeps more than its window.
  const viewer = window.plotserverViewer;
  const el = viewer && viewer.element;
  if (!el || !el.dataset.retention || el.dataset.retention === "window") return; // as before
  window.plotserverHistory = attach(viewer, {
    live: document.getElementById("history-live"),
    note: document.getElementById("history-note"),
    play: document.getElementById("replay-play"),
    stop: document.getElementById("replay-stop"),
    speed: document.getElementById("replay-speed"),
    shareKey: el.dataset.shareKey,
  });
})();
