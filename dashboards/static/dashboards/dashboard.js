// A dashboard: every panel a live plot (viewer.js, one viewer per panel), all over one socket.
//
// The socket is /ws/dashboards/<id>/ (docs/websocket.md, "Dashboards"): every message carries
// the plot it is about (`plot_id`) and goes to the viewers of that plot; what a viewer sends
// (a resync) goes back tagged the same way. On a reconnect the page says where each plot stands
// (`since`), and the server replays what each missed or sends it a snapshot.
// The owner moves a panel by dragging its title, resizes it by its corner, removes it, adds one:
// each change is saved with PATCH /api/dashboards/<id>/. Panels whose x axis shows dates are
// linked: zooming or panning one moves them all, "Live" returns all to the tail. A panel whose
// plot keeps history, and which the visitor may read, zooms into it as the plot page does
// (history.js): a range before the live window is read from the plot's history.
(function () {
  "use strict";

  const options = Object.assign(
    { retryMinMs: 500, retryMaxMs: 10000, rowHeight: 80 },
    window.plotserverDashboardOptions || {}
  );
  const root = document.getElementById("dashboard");
  const badge = document.getElementById("status");
  const dashboardId = root.dataset.dashboardId;
  const shareKey = root.dataset.shareKey;
  const columns = Number(root.dataset.columns || 12);
  const isOwner = root.dataset.owner === "1";
  const CLOSE_TOO_SLOW = 4408;
  const CLOSE_NOT_SHARED = 4404;

  let panels = JSON.parse(document.getElementById("dashboard-panels").textContent);
  const viewers = new Map(); // plot id -> [viewer of each panel showing it]
  const histories = []; // the history view of each panel that has one
  const cells = [];
  let socket = null;
  let failures = 0;
  let retryTimer = null;
  let fatal = false;
  const stats = { sockets: 0, messages: 0 };

  root.style.gridTemplateColumns = "repeat(" + columns + ", minmax(0, 1fr))";
  root.style.gridAutoRows = options.rowHeight + "px";

  // -- the panels --------------------------------------------------------------------------

  panels.forEach(function (panel, position) {
    const cell = document.createElement("section");
    cell.className = "dashboard-panel";
    cell.dataset.plotId = String(panel.plot);
    cell.dataset.position = String(position);
    place(cell, panel);
    const head = document.createElement("header");
    head.className = "dashboard-panel-head";
    const title = document.createElement("h2");
    title.textContent = panel.label;
    const state = document.createElement("span");
    state.className = "badge connecting";
    state.dataset.state = "connecting";
    state.textContent = "connecting…";
    const full = button("full screen", "show this panel full screen (Escape returns)", function () {
      if (document.fullscreenElement === cell) document.exitFullscreen();
      else cell.requestFullscreen();
    });
    full.className = "link panel-full";
    head.append(title);
    // The embed and kiosk mode are the live view only: they load no history.js.
    const history = panel.history && window.plotserverHistories ? historyControls(head) : null;
    head.append(state, full);
    if (isOwner) {
      const remove = button("×", "remove this panel", function () {
        panels = panels.filter(function (_, index) { return index !== position; });
        save(true);
      });
      remove.className = "link panel-remove";
      head.append(remove);
    }
    const plot = document.createElement("div");
    plot.className = "plot dashboard-plot";
    plot.dataset.plotId = String(panel.plot);
    cell.append(head, plot);
    if (isOwner) {
      const corner = document.createElement("span");
      corner.className = "panel-resize";
      corner.title = "resize";
      cell.append(corner);
      draggable(cell, head, corner, position);
    }
    root.append(cell);
    cells.push(cell);
    const viewer = window.plotserverViewers.start(plot, {
      badge: state,
      channel: { send: function (message) { send(Object.assign({ plot_id: panel.plot }, message)); } },
    });
    if (!viewers.has(panel.plot)) viewers.set(panel.plot, []);
    viewers.get(panel.plot).push(viewer);
    if (history) histories.push(window.plotserverHistories.attach(viewer, history));
    linkAxes(plot);
  });

  function place(cell, panel) {
    cell.style.gridColumn = panel.x + 1 + " / span " + panel.w;
    cell.style.gridRow = panel.y + 1 + " / span " + panel.h;
  }

  // A panel's own "Back to live" and the note saying which range of its history it shows.
  function historyControls(head) {
    const note = document.createElement("span");
    note.className = "muted panel-history-note";
    note.setAttribute("aria-live", "polite");
    const live = document.createElement("button"); // history.js handles its clicks
    live.type = "button";
    live.textContent = "Back to live";
    live.title = "Show this panel's newest points again, following the tail";
    live.className = "link live-button panel-live";
    live.hidden = true;
    head.append(note, live);
    return { live: live, note: note };
  }

  function button(text, label, onClick) {
    const element = document.createElement("button");
    element.type = "button";
    element.textContent = text;
    element.title = label;
    element.setAttribute("aria-label", label);
    element.addEventListener("click", onClick);
    return element;
  }

  // -- the socket --------------------------------------------------------------------------

  function socketUrl() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const params = new URLSearchParams();
    if (shareKey) params.set("share_key", shareKey);
    const since = {};
    for (const [plotId, list] of viewers) {
      const position = list[0].position();
      if (position) since[plotId] = position;
    }
    if (Object.keys(since).length) params.set("since", JSON.stringify(since));
    const query = params.toString();
    return scheme + "://" + location.host + "/ws/dashboards/" + dashboardId + "/" + (query ? "?" + query : "");
  }

  function connect() {
    clearTimeout(retryTimer);
    retryTimer = null;
    const ws = new WebSocket(socketUrl());
    socket = ws;
    stats.sockets += 1;
    ws.onopen = function () { setStatus("live"); };
    ws.onmessage = function (event) {
      if (ws !== socket) return;
      stats.messages += 1;
      failures = 0;
      const message = JSON.parse(event.data);
      if (message.plot_id === undefined) {
        if (message.type === "error") {
          fatal = true;
          setStatus("offline", message.message);
        }
        return;
      }
      const list = viewers.get(message.plot_id) || [];
      // Each viewer keeps what it is given: a second panel of the same plot gets its own copy.
      list.forEach(function (viewer, index) { viewer.handle(index ? structuredClone(message) : message); });
    };
    ws.onclose = function (event) {
      if (ws !== socket) return;
      socket = null;
      if (fatal || event.code === CLOSE_NOT_SHARED) {
        fatal = true;
        return;
      }
      if (event.code === CLOSE_TOO_SLOW && document.visibilityState === "visible") {
        connect();
        return;
      }
      failures += 1;
      setStatus("reconnecting");
      const delay = Math.min(options.retryMinMs * Math.pow(2, failures - 1), options.retryMaxMs);
      retryTimer = setTimeout(connect, delay * (0.75 + Math.random() * 0.25));
    };
  }

  function send(message) {
    if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(message));
  }

  function setStatus(state, detail) {
    if (!badge) return;
    badge.className = badge.className.replace(/\b(live|reconnecting|offline|connecting)\b/g, "").trim() + " " + state;
    badge.dataset.state = state;
    badge.textContent = detail ? state + ": " + detail : state;
  }

  // A tab or a network coming back should not wait out a backoff timer the browser throttled;
  // a wall display (kiosk) relies on it.
  function reconnectNow() {
    if (!fatal && socket === null) connect();
  }
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible") reconnectNow();
  });
  window.addEventListener("online", reconnectNow);

  // -- the owner's changes -----------------------------------------------------------------

  function save(reload) {
    const body = {
      panels: panels.map(function (p) {
        return { plot: p.plot, x: p.x, y: p.y, w: p.w, h: p.h, title: p.title || "" };
      }),
    };
    return fetch(root.dataset.apiUrl, {
      method: "PATCH",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": root.dataset.csrf },
      body: JSON.stringify(body),
    }).then(function (response) {
      if (!response.ok) {
        return response.json().then(function (error) { window.alert(error.detail || JSON.stringify(error)); });
      }
      // Adding or removing a panel changes which plots the socket carries: the page starts over.
      if (reload) location.reload();
    });
  }

  const addForm = document.getElementById("add-panel");
  if (addForm) {
    addForm.addEventListener("submit", function (event) {
      event.preventDefault();
      panels.push({ plot: Number(document.getElementById("add-panel-plot").value) });
      save(true);
    });
  }

  // Drag the title to move a panel, the corner to resize it: in whole grid cells, saved on release.
  function draggable(cell, head, corner, position) {
    function track(event, resize) {
      if (event.button !== 0 || event.target.closest("button")) return;
      event.preventDefault();
      const panel = panels[position];
      const start = { x: event.clientX, y: event.clientY, px: panel.x, py: panel.y, pw: panel.w, ph: panel.h };
      const cellWidth = root.clientWidth / columns;
      cell.classList.add("moving");
      function move(e) {
        const dx = Math.round((e.clientX - start.x) / cellWidth);
        const dy = Math.round((e.clientY - start.y) / options.rowHeight);
        if (resize) {
          panel.w = Math.max(1, Math.min(columns - panel.x, start.pw + dx));
          panel.h = Math.max(1, Math.min(24, start.ph + dy));
        } else {
          panel.x = Math.max(0, Math.min(columns - panel.w, start.px + dx));
          panel.y = Math.max(0, start.py + dy);
        }
        place(cell, panel);
      }
      function up() {
        document.removeEventListener("pointermove", move);
        document.removeEventListener("pointerup", up);
        cell.classList.remove("moving");
        const moved = panel.x !== start.px || panel.y !== start.py || panel.w !== start.pw || panel.h !== start.ph;
        if (moved) {
          window.dispatchEvent(new Event("resize")); // plotly.js fits each plot to its new cell
          save(false);
        }
      }
      document.addEventListener("pointermove", move);
      document.addEventListener("pointerup", up);
    }
    head.addEventListener("pointerdown", function (event) { track(event, false); });
    corner.addEventListener("pointerdown", function (event) { track(event, true); });
  }

  // -- linked x axes -----------------------------------------------------------------------

  // Panels whose x axis shows dates move together: a zoom or pan of one is applied to every other
  // such panel; "Live" (or a double click, autorange) returns them all to the tail.
  let linking = false;
  function isDate(element) {
    return !!(element._fullLayout && element._fullLayout.xaxis && element._fullLayout.xaxis.type === "date");
  }
  function linkAxes(element) {
    element.addEventListener("plotserver:drawn", function first() {
      element.removeEventListener("plotserver:drawn", first);
      element.on("plotly_relayout", function (change) {
        if (linking || !isDate(element)) return;
        let update = null;
        if (change["xaxis.autorange"]) update = { "xaxis.autorange": true };
        else if (change["xaxis.range[0]"] !== undefined) update = { "xaxis.range": [change["xaxis.range[0]"], change["xaxis.range[1]"]] };
        else if (Array.isArray(change["xaxis.range"])) update = { "xaxis.range": change["xaxis.range"].slice() };
        if (update) applyToLinked(update, element);
      });
      element.on("plotly_hover", function (event) {
        if (linking || !isDate(element) || !event.points || !event.points.length) return;
        hoverLine(event.points[0].x, element);
      });
      element.on("plotly_unhover", function () { if (!linking) hoverLine(null, element); });
    });
  }
  function linked(except) {
    return cells.map(function (cell) { return cell.querySelector(".dashboard-plot"); }).filter(function (element) {
      return element !== except && element._fullLayout && isDate(element);
    });
  }
  function applyToLinked(update, except) {
    linking = true;
    const done = linked(except).map(function (element) { return Plotly.relayout(element, update); });
    Promise.all(done).finally(function () { linking = false; });
  }
  // A shared hover line: a vertical line at the hovered time on every linked panel.
  function hoverLine(x, except) {
    linking = true;
    for (const element of linked(except)) {
      try {
        if (x === null) Plotly.Fx.unhover(element);
        else {
          // By point (any hovermode takes it): each trace's point nearest to that time.
          const at = new Date(String(x).replace(" ", "T")).getTime();
          const points = [];
          (element.data || []).forEach(function (trace, curveNumber) {
            const xs = trace.x || [];
            let best = -1;
            let distance = Infinity;
            for (let i = 0; i < xs.length; i++) {
              const d = Math.abs(new Date(String(xs[i]).replace(" ", "T")).getTime() - at);
              if (d < distance) {
                distance = d;
                best = i;
              }
            }
            if (best >= 0) points.push({ curveNumber: curveNumber, pointNumber: best });
          });
          if (points.length) Plotly.Fx.hover(element, points);
        }
      } catch (error) {
        // a panel still drawing: it shows the line on the next hover
      }
    }
    linking = false;
  }
  const live = document.getElementById("dashboard-live");
  if (live) {
    live.addEventListener("click", function () {
      applyToLinked({ "xaxis.autorange": true }, null);
      histories.forEach(function (history) { history.goLive(); }); // panels of numbers too
    });
  }

  // For tests and the curious.
  window.plotserverDashboard = {
    stats: stats,
    viewers: function () { return viewers; },
    histories: function () { return histories; },
    panels: function () { return panels; },
    state: function () { return badge ? badge.dataset.state : socket ? "live" : "offline"; },
  };

  setStatus("connecting");
  connect();
})();
