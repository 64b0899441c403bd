// The settings page keeps its token status columns current by polling one small JSON document.
(function () {
  "use strict";
  const table = document.querySelector("[data-status-url]");
  if (!table) return;
  const url = table.dataset.statusUrl;
  const POLL_MS = 3000;

  // The one time format (ui.js): relative, the exact time on hover.
  function setTime(cell, iso) {
    window.plotserverTime.setTime(cell && cell.querySelector("time"), iso);
  }

  function render(status) {
    document.querySelectorAll("tr[data-token]").forEach(function (row) {
      const token = status.tokens[row.dataset.token];
      if (!token) return;
      row.querySelector(".token-status").textContent = token.revoked ? "revoked" : token.connected ? "connected" : "idle";
      row.querySelector(".accepted").textContent = token.accepted;
      row.querySelector(".rejected").textContent = token.rejected;
      const error = token.last_error ? token.last_error.message : "";
      row.querySelector(".last-error").textContent = error.length > 80 ? error.slice(0, 79) + "…" : error;
      setTime(row.querySelector(".last-write"), token.last_write_at);
    });
  }

  function poll() {
    if (document.visibilityState !== "visible") return;
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (status) { if (status) render(status); })
      .catch(function () { /* the next poll tries again */ });
  }

  setInterval(poll, POLL_MS);
  document.addEventListener("visibilitychange", poll);
})();
