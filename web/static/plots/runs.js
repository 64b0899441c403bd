// plotserver's list of a plot's runs, and earlier runs overlaid on the live one
// (docs/history.md, "Runs").
//
// The list comes from GET /api/plots/<id>/runs/; an update that starts a new run (viewer.js
// raises "plotserver:run") adds it at once (updates reach the page before their commit, so a
// listing read then could still lack it). "Overlay" reads that run of every trace its
// stream feeds (?run=N, one point a pixel of the plot's width, lttb) and hands the answers to
// viewer.js as extra, dimmed traces drawn after the figure's own; "Remove" takes them away. A
// file of its own, not part of history.js: runs are listed for every plot, "window" ones too
// (which say their earlier runs are not kept), while history.js serves only plots that keep more.
(function () {
  "use strict";

  const viewer = window.plotserverViewer;
  const el = viewer && viewer.element;
  const section = document.getElementById("runs");
  const list = document.getElementById("runs-list");
  const note = document.getElementById("runs-note");
  if (!el || !section || !list) return;

  const plotId = el.dataset.plotId;
  const shareKey = el.dataset.shareKey;
  const OPACITY = 0.4;

  let streams = []; // the last listing: [{stream, traces, runs}]
  let retention = el.dataset.retention;
  let reading = null; // the listing read in flight
  const overlaid = new Map(); // "stream:run" -> [overlay traces]
  const stats = { listings: 0, overlays: 0, failed: 0 };

  function query(params) {
    if (shareKey) params.set("share_key", shareKey);
    const text = params.toString();
    return text ? "?" + text : "";
  }

  function getJson(url) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } }).then(function (response) {
      return response.json().then(function (body) {
        if (!response.ok) throw new Error(body.message || String(response.status));
        return body;
      });
    });
  }

  function readList() {
    if (reading) return reading;
    reading = getJson("/api/plots/" + plotId + "/runs/" + query(new URLSearchParams()))
      .then(function (answer) {
        stats.listings += 1;
        streams = answer.streams;
        retention = answer.retention;
        render();
      }, function (error) {
        stats.failed += 1;
        say("could not read the runs: " + error.message);
      })
      .finally(function () { reading = null; });
    return reading;
  }

  // -- the list ---------------------------------------------------------------------------

  function render() {
    list.textContent = "";
    // Earlier runs: listed, or forgotten already (the list starts past run 1).
    const earlier = streams.some(function (s) { return s.runs.length > 1 || (s.runs.length && s.runs[0].number > 1); });
    section.hidden = streams.length === 0;
    streams.forEach(function (stream) {
      stream.runs.slice().reverse().forEach(function (run) {
        list.appendChild(item(stream, run));
      });
    });
    if (earlier && retention === "window") {
      say('Earlier runs are not kept: this plot keeps only its live window (retention "window"). Set a longer retention to keep and overlay them.');
    } else if (!earlier) {
      say('One run so far. A line {"run": "new"} in the stream, or POST /api/streams/<id>/runs/, starts the next.');
    } else {
      say("");
    }
  }

  function item(stream, run) {
    const key = stream.stream + ":" + run.number;
    const li = document.createElement("li");
    li.dataset.stream = String(stream.stream);
    li.dataset.run = String(run.number);
    const label = document.createElement("span");
    label.className = "run-label";
    label.textContent = "run " + run.number + (run.name ? " · " + run.name : "") + (streams.length > 1 ? " (" + traceNames(stream) + ")" : "");
    li.appendChild(label);
    const when = document.createElement("time");
    when.className = "muted";
    when.setAttribute("datetime", run.started);
    const time = window.plotserverTime;
    when.textContent = " started " + (time ? time.relative(run.started, Date.now()) : new Date(run.started).toLocaleString());
    if (time) when.title = time.exact(run.started);
    li.appendChild(when);
    li.appendChild(document.createTextNode(" "));
    if (run.current) {
      const live = document.createElement("span");
      live.className = "run-live";
      live.textContent = "live";
      li.appendChild(live);
    } else if (!run.kept) {
      const gone = document.createElement("span");
      gone.className = "muted run-gone";
      gone.textContent = "not kept";
      gone.title = retention === "window" ? "This plot keeps only its live window." : "The plot's retention has removed this run's points.";
      li.appendChild(gone);
    } else {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "run-overlay";
      button.textContent = overlaid.has(key) ? "Remove" : "Overlay";
      button.title = overlaid.has(key) ? "Take this run off the plot" : "Draw this run, dimmed, beside the live one";
      button.addEventListener("click", function () {
        if (overlaid.has(key)) remove(key);
        else overlay(stream, run, key, button);
      });
      li.appendChild(button);
    }
    return li;
  }

  function traceNames(stream) {
    return stream.traces.map(function (index) { return nameOf(index); }).join(", ");
  }

  function nameOf(index) {
    const figure = viewer.figure();
    const trace = figure && figure.data[index];
    return (trace && trace.name) || "trace " + index;
  }

  // -- overlays ---------------------------------------------------------------------------

  function pixelWidth() {
    const size = el._fullLayout && el._fullLayout._size;
    return Math.max(4, Math.round((size && size.w) || el.clientWidth || 800));
  }

  function overlay(stream, run, key, button) {
    button.disabled = true;
    say("reading run " + run.number + "…");
    const reads = stream.traces.map(function (index) {
      const params = new URLSearchParams({ run: String(run.number), max_points: String(pixelWidth()), method: "lttb" });
      return getJson("/api/plots/" + plotId + "/traces/" + index + "/points/" + query(params));
    });
    Promise.all(reads).then(function (answers) {
      overlaid.set(key, answers.map(function (answer) { return dimmed(answer, run); }));
      stats.overlays += 1;
      redraw();
      say("run " + run.number + " overlaid: " + answers.reduce(function (n, a) { return n + a.returned; }, 0).toLocaleString() + " points");
    }, function (error) {
      stats.failed += 1;
      button.disabled = false;
      say("could not read run " + run.number + ": " + error.message);
    });
  }

  // An earlier run of one trace, drawn like the trace (its colour as plotly.js drew it) but
  // dimmed and dotted, named after both.
  function dimmed(answer, run) {
    const figure = viewer.figure();
    const base = (figure && figure.data[answer.trace]) || {};
    const drawn = (el._fullData && el._fullData[answer.trace]) || {};
    const colour = (drawn.line && drawn.line.color) || (drawn.marker && drawn.marker.color);
    const trace = {
      type: base.type || "scatter",
      name: "run " + run.number + " · " + nameOf(answer.trace),
      opacity: OPACITY,
      hoverinfo: "x+y+name",
    };
    if (base.mode) trace.mode = base.mode;
    if (trace.type === "scatter" || trace.type === "scattergl") trace.line = { dash: "dot" };
    if (typeof colour === "string") {
      trace.line = Object.assign(trace.line || {}, { color: colour });
      trace.marker = { color: colour };
    }
    for (const [path, values] of Object.entries(answer.points)) viewer.setPath(trace, path, values);
    trace.meta = { run: run.number, trace: answer.trace };
    return trace;
  }

  function remove(key) {
    overlaid.delete(key);
    redraw();
    say("");
  }

  function redraw() {
    viewer.setOverlays(Array.from(overlaid.values()).flat());
    render();
  }

  function say(text) {
    if (note) note.textContent = text;
  }

  // A new run, as the update that started it says: the stream's current run ends just before it.
  function started(event) {
    const run = event.detail;
    const stream = streams.find(function (s) { return s.stream === run.stream; });
    if (!stream) return;
    for (const known of stream.runs) {
      if (known.number === run.number) return;
      if (known.current) Object.assign(known, { current: false, last_seq: run.seq - 1, kept: retention !== "window" });
    }
    stream.runs.push({
      number: run.number, name: run.name, started: new Date().toISOString(),
      first_seq: run.seq, last_seq: null, current: true, kept: true,
    });
    render();
  }

  el.addEventListener("plotserver:run", started);
  readList();

  window.plotserverRuns = {
    streams: function () { return streams; },
    overlaid: function () { return Array.from(overlaid.keys()); },
    reload: readList,
    stats: stats,
  };
})();
