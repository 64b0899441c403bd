// Small page behaviours: copy buttons, tabs, confirmations, and one relative time format.
(function () {
  "use strict";

  // -- copy buttons: data-copy="#selector" copies that element's text (or value) -----------
  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) return navigator.clipboard.writeText(text);
    // Plain http on a LAN has no clipboard API: the old way still works there.
    const area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.style.position = "fixed";
    area.style.opacity = "0";
    document.body.appendChild(area);
    area.select();
    const ok = document.execCommand("copy");
    area.remove();
    return ok ? Promise.resolve() : Promise.reject(new Error("copy refused"));
  }

  document.addEventListener("click", function (event) {
    const button = event.target.closest("[data-copy]");
    if (!button) return;
    const source = document.querySelector(button.dataset.copy);
    if (!source) return;
    const text = "value" in source && source.value !== undefined ? source.value : source.textContent;
    copyText(text).then(
      function () { flash(button, "copied"); },
      function () { flash(button, "select and copy"); }
    );
  });

  function flash(button, text) {
    const before = button.dataset.label || button.textContent;
    button.dataset.label = before;
    button.textContent = text;
    setTimeout(function () { button.textContent = before; }, 1500);
  }

  // -- tabs: [data-tabs] with buttons [data-tab=id] and panels [data-panel=id] --------------
  document.addEventListener("click", function (event) {
    const tab = event.target.closest("[data-tab]");
    if (!tab) return;
    const group = tab.closest("[data-tabs]");
    group.querySelectorAll("[data-tab]").forEach(function (other) {
      const active = other === tab;
      other.classList.toggle("active", active);
      other.setAttribute("aria-selected", active ? "true" : "false");
    });
    group.querySelectorAll("[data-panel]").forEach(function (panel) {
      panel.hidden = panel.dataset.panel !== tab.dataset.tab;
    });
  });

  // -- confirmations: a form with data-confirm="question" asks before it is sent -----------
  document.addEventListener("submit", function (event) {
    const question = event.target.dataset && event.target.dataset.confirm;
    if (question && !window.confirm(question)) event.preventDefault();
  });

  // -- time: every <time data-relative> reads "5 min ago", with the exact time on hover ------
  const UNITS = [
    ["year", 365 * 86400], ["month", 30 * 86400], ["day", 86400], ["h", 3600], ["min", 60], ["s", 1],
  ];

  function relative(iso, now) {
    const then = new Date(iso).getTime();
    if (isNaN(then)) return "";
    let seconds = Math.round((now - then) / 1000);
    const future = seconds < 0;
    seconds = Math.abs(seconds);
    if (seconds < 5) return "just now";
    for (const [unit, size] of UNITS) {
      if (seconds >= size) {
        const count = Math.floor(seconds / size);
        const name = unit.length > 3 && count !== 1 ? unit + "s" : unit;
        return future ? "in " + count + " " + name : count + " " + name + " ago";
      }
    }
    return "just now";
  }

  function exact(iso) {
    const date = new Date(iso);
    return isNaN(date.getTime()) ? "" : date.toISOString().replace("T", " ").slice(0, 19) + " UTC";
  }

  // Set a <time> to an ISO instant (or none: its data-empty text), in the one format.
  function setTime(time, iso) {
    if (!time) return;
    time.setAttribute("datetime", iso || "");
    if (!iso) {
      time.textContent = time.dataset.empty || "never";
      time.removeAttribute("title");
      return;
    }
    time.textContent = relative(iso, Date.now());
    time.title = exact(iso);
  }

  function refreshTimes() {
    document.querySelectorAll("time[data-relative]").forEach(function (time) {
      setTime(time, time.getAttribute("datetime"));
    });
  }

  window.plotserverTime = { setTime: setTime, relative: relative, exact: exact };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", refreshTimes);
  else refreshTimes();
  setInterval(refreshTimes, 10000);
})();
