// Plot cards (Home, My plots) stay live: their sparkline, streaming state and last point
// come from one small JSON document, polled while the tab is visible; on the owner's own
// plots, their alerts too.
(function () {
  "use strict";
  const list = document.querySelector("[data-cards-url]");
  if (!list) return;
  const POLL_MS = 3000;
  const cards = Array.from(list.querySelectorAll("[data-plot]"));
  const url = list.dataset.cardsUrl + "?ids=" + cards.map(function (c) { return c.dataset.plot; }).join(",");

  function render(plots) {
    cards.forEach(function (card) {
      const plot = plots[card.dataset.plot];
      if (!plot) return;
      const status = card.querySelector(".plot-status");
      status.className = "plot-status " + (plot.streaming ? "streaming" : plot.streams ? "idle" : "static");
      status.textContent = !plot.streams ? "static" : plot.streaming ? "streaming " + plot.streaming + " of " + plot.streams : "idle";
      card.querySelector(".spark polyline").setAttribute("points", plot.spark);
      // No point streamed yet (or never: a static plot): no "last point" line at all.
      const last = card.querySelector(".last-point");
      last.hidden = !plot.last_point_at;
      window.plotserverTime.setTime(last.querySelector("time"), plot.last_point_at);
      // The owner's own plots: how many alerts, and how many fire (said as the page said it).
      const alerts = card.querySelector(".card-alerts");
      if (alerts) {
        const count = plot.alerts ? plot.alerts.count : 0;
        const firing = plot.alerts ? plot.alerts.firing : 0;
        alerts.hidden = !count;
        alerts.classList.toggle("firing", firing > 0);
        alerts.textContent = count + " alert" + (count === 1 ? "" : "s") + (firing ? " · " + firing + " firing" : "");
      }
    });
  }

  function poll() {
    if (document.visibilityState !== "visible") return;
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (body) { if (body) render(body.plots); })
      .catch(function () { /* the next poll tries again */ });
  }

  setInterval(poll, POLL_MS);
  document.addEventListener("visibilitychange", poll);
})();
