// The owner's alerts on the plot page, through the REST API (/api/alerts/): listed with their
// state and kept current by a small poll of this plot's alerts while the tab is visible (the
// stream's points never pass through here); made from the form with the API's own validation,
// its errors shown beside their fields; the webhook's secret shown once; deleted by a button.
(function () {
  "use strict";
  const root = document.getElementById("alerts");
  if (!root) return;
  const POLL_MS = 3000;
  const TIMEOUT_MS = 10000;
  const api = root.dataset.apiUrl;
  const listUrl = api + "?plot=" + encodeURIComponent(root.dataset.plot);
  const table = document.getElementById("alerts-list");
  const body = table.querySelector("tbody");
  const empty = document.getElementById("alerts-empty");
  const note = document.getElementById("alerts-note");
  const problem = document.getElementById("alerts-problem");
  const form = document.getElementById("alert-form");
  const formError = document.getElementById("alert-form-error");
  const traceLabels = {};
  form.trace.querySelectorAll("option").forEach(function (option) { traceLabels[option.value] = option.textContent; });
  let polling = false;

  // One request, given up after TIMEOUT_MS: a slow server never piles polls up.
  function request(url, options) {
    const controller = new AbortController();
    const timer = setTimeout(function () { controller.abort(); }, TIMEOUT_MS);
    const headers = Object.assign({ Accept: "application/json", "X-CSRFToken": root.dataset.csrf }, options.headers || {});
    return fetch(url, Object.assign({ credentials: "same-origin", signal: controller.signal }, options, { headers: headers }))
      .finally(function () { clearTimeout(timer); });
  }

  function describe(alert) {
    if (alert.condition === "silence") return "silent for " + alert.seconds + " s";
    const held = alert.for_seconds ? " for " + alert.for_seconds + " s" : "";
    return alert.condition + " " + alert.threshold + held;
  }

  function lastValue(alert) {
    if (alert.last_value === null) return "";
    // A silence alert's value is the seconds without a line at its last transition.
    return alert.condition === "silence" ? alert.last_value.toFixed(1) + " s silent" : String(alert.last_value);
  }

  function cell(row, className, text) {
    const td = document.createElement("td");
    if (className) td.className = className;
    td.textContent = text;
    row.appendChild(td);
    return td;
  }

  function render(alerts, total) {
    body.replaceChildren();
    alerts.forEach(function (alert) {
      const row = document.createElement("tr");
      row.dataset.alert = alert.id;
      row.dataset.state = alert.state;
      cell(row, "", traceLabels[alert.trace] || "Trace " + alert.trace);
      cell(row, "alert-condition", describe(alert));
      const state = document.createElement("span");
      state.className = "badge alert-state " + alert.state;
      state.textContent = alert.state;
      cell(row, "", "").appendChild(state);
      const since = document.createElement("time");
      since.dataset.relative = "";
      since.dataset.empty = "—";
      window.plotserverTime.setTime(since, alert.since);
      cell(row, "alert-since", "").appendChild(since);
      cell(row, "alert-last-value", lastValue(alert));
      const remove = document.createElement("button");
      remove.type = "button";
      remove.className = "link alert-delete";
      remove.textContent = "delete";
      remove.setAttribute("aria-label", "delete the alert: " + describe(alert));
      remove.addEventListener("click", function () { removeAlert(alert); });
      cell(row, "", "").appendChild(remove);
      body.appendChild(row);
    });
    table.hidden = alerts.length === 0;
    empty.hidden = alerts.length > 0;
    note.textContent = total > alerts.length ? "Showing " + alerts.length + " of " + total + ": all are at " + listUrl : "";
  }

  function poll() {
    if (polling || document.visibilityState !== "visible") return Promise.resolve();
    polling = true;
    return request(listUrl, { method: "GET" })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (page) { if (page) render(page.results, page.count); })
      .catch(function () { /* the next poll tries again */ })
      .finally(function () { polling = false; });
  }

  function removeAlert(alert) {
    if (!window.confirm("Delete the alert “" + describe(alert) + "”?")) return;
    problem.hidden = true;
    request(api + alert.id + "/", { method: "DELETE" })
      .then(function (response) {
        if (response.ok || response.status === 404) return poll(); // 404: already gone
        problem.textContent = "Not deleted: HTTP " + response.status + ".";
        problem.hidden = false;
      })
      .catch(function () {
        problem.textContent = "Not deleted: the server did not answer.";
        problem.hidden = false;
      });
  }

  // -- the form -------------------------------------------------------------------------

  function showCondition() {
    const condition = form.condition.value;
    form.querySelectorAll("[data-condition]").forEach(function (label) {
      label.hidden = label.dataset.condition.split(" ").indexOf(condition) < 0;
    });
  }

  function clearErrors() {
    formError.hidden = true;
    form.querySelectorAll("[data-error-for]").forEach(function (p) { p.hidden = true; p.textContent = ""; });
  }

  // The API's refusal body: {"message", "errors": [{"message", "field"}]}; "emails.1" is the
  // emails field's.
  function showErrors(refusal, status) {
    const errors = refusal && refusal.errors && refusal.errors.length ? refusal.errors : null;
    if (!errors) {
      formError.textContent = (refusal && refusal.message) || "Not made: HTTP " + status + ".";
      formError.hidden = false;
      return;
    }
    errors.forEach(function (error) {
      const field = (error.field || "").split(/[.[]/)[0];
      const place = field && form.querySelector("[data-error-for='" + field + "']");
      const target = place && !place.previousElementSibling.hidden ? place : formError;
      target.textContent = target.hidden ? error.message : target.textContent + " " + error.message;
      target.hidden = false;
    });
  }

  function number(name) {
    const value = form[name].value.trim();
    return value === "" ? null : Number(value);
  }

  function submitted(event) {
    event.preventDefault();
    clearErrors();
    const condition = form.condition.value;
    const alert = { plot: Number(root.dataset.plot), trace: Number(form.trace.value), condition: condition };
    if (condition === "silence") {
      alert.seconds = number("seconds");
    } else {
      alert.threshold = number("threshold");
      if (number("for_seconds") !== null) alert.for_seconds = number("for_seconds");
    }
    if (form.webhook.value.trim()) alert.webhook = form.webhook.value.trim();
    const emails = form.emails.value.split(",").map(function (e) { return e.trim(); }).filter(Boolean);
    if (emails.length) alert.emails = emails;
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    request(api, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(alert) })
      .then(function (response) {
        return response.json().catch(function () { return null; }).then(function (answer) {
          if (response.status !== 201) {
            showErrors(answer, response.status);
            return;
          }
          const secret = document.getElementById("alert-secret");
          secret.hidden = !answer.webhook;
          document.getElementById("alert-secret-value").value = answer.webhook ? answer.webhook_secret : "";
          form.webhook.value = "";
          form.emails.value = "";
          return poll();
        });
      })
      .catch(function () {
        formError.textContent = "Not made: the server did not answer. Try again.";
        formError.hidden = false;
      })
      .finally(function () { button.disabled = false; });
  }

  form.condition.addEventListener("change", showCondition);
  form.addEventListener("submit", submitted);
  showCondition();
  poll();
  setInterval(poll, POLL_MS);
  document.addEventListener("visibilitychange", poll);
})();
