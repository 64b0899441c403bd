// plotserver's annotations drawn over a figure (docs/annotations.md): Plotly shapes and
// annotations appended after the layout's own, each named "plotserver-annotation-<id>", drawn
// as core/models/annotations.py draws them in the figure viewers read (an event a dotted line
// with its text at the top, a span a shaded band). Only those within the x range of the points
// drawn are drawn: Plotly widens an axis to reach every shape, and an old event would stretch a
// rolling window. viewer.js keeps the annotations; history.js and runs.js draw with them too.
(function () {
  "use strict";

  const PREFIX = "plotserver-annotation-";
  const DEFAULT_COLOR = "#e45756";

  // A value on an x axis as a number to compare, NaN when it is none (a category).
  function position(value) {
    if (typeof value === "number") return value;
    if (typeof value !== "string") return NaN;
    let text = value.trim().replace(" ", "T");
    if (/^\d{4}-\d\d-\d\d$/.test(text)) text += "T00:00:00";
    return /^\d{4}-\d\d-\d\dT/.test(text) ? Date.parse(text) : NaN;
  }

  function axisOf(item, data) {
    const trace = item.trace === null || item.trace === undefined ? null : data[item.trace];
    return trace && typeof trace.xaxis === "string" ? trace.xaxis : "x";
  }

  // Per x axis ("x", "x2"), the lowest and highest x of the points drawn (each trace's first and
  // last: streamed x grows), or null for an axis whose range the layout fixes (all of it shows).
  function extents(layout, data) {
    const out = {};
    for (const trace of data) {
      if (!trace || trace.visible === false) continue;
      const axis = typeof trace.xaxis === "string" ? trace.xaxis : "x";
      let first;
      let last;
      if (Array.isArray(trace.x)) {
        if (!trace.x.length) continue;
        first = position(trace.x[0]);
        last = position(trace.x[trace.x.length - 1]);
      } else if (Array.isArray(trace.y) && trace.y.length) {
        first = 0; // a trace without x is drawn at 0, 1, 2, ...
        last = trace.y.length - 1;
      } else {
        continue;
      }
      const low = Math.min(first, last);
      const high = Math.max(first, last);
      const seen = out[axis];
      out[axis] = seen ? [Math.min(seen[0], low), Math.max(seen[1], high)] : [low, high];
    }
    for (const axis of Object.keys(layout || {})) {
      const match = /^xaxis(\d*)$/.exec(axis);
      const settings = layout[axis];
      if (match && settings && Array.isArray(settings.range) && settings.autorange !== true) {
        out["x" + match[1]] = null;
      }
    }
    return out;
  }

  // The annotations to draw now: those whose x (or span) meets the x range of their axis.
  function visible(layout, data, list) {
    const ranges = extents(layout, data);
    return list.filter(function (item) {
      const axis = axisOf(item, data);
      if (!(axis in ranges)) return false;
      const range = ranges[axis];
      if (range === null) return true;
      const start = position(item.x);
      const end = item.x_end === null || item.x_end === undefined ? start : position(item.x_end);
      if (isNaN(start) || isNaN(end) || isNaN(range[0]) || isNaN(range[1])) return true; // categories
      return end >= range[0] && start <= range[1];
    });
  }

  function escape(text) {
    // Plotly reads a few HTML tags in a text: an annotation's is shown as written.
    return String(text).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  }

  function ours(item) {
    return item && typeof item.name === "string" && item.name.indexOf(PREFIX) === 0;
  }

  // {shapes, annotations}: the layout's own (ours left out) followed by the visible annotations.
  function parts(layout, data, list) {
    const shapes = ((layout && layout.shapes) || []).filter(function (s) { return !ours(s); });
    const notes = ((layout && layout.annotations) || []).filter(function (a) { return !ours(a); });
    for (const item of visible(layout, data, list)) {
      const axis = axisOf(item, data);
      const color = item.color || DEFAULT_COLOR;
      const name = PREFIX + item.id;
      const span = item.x_end !== null && item.x_end !== undefined;
      const shape = {
        type: span ? "rect" : "line", name: name, xref: axis, yref: "paper",
        x0: item.x, x1: span ? item.x_end : item.x, y0: 0, y1: 1,
      };
      if (span) Object.assign(shape, { fillcolor: color, opacity: 0.15, line: { width: 0 }, layer: "below" });
      else shape.line = { color: color, width: 1.5, dash: "dot" };
      shapes.push(shape);
      notes.push({
        name: name, xref: axis, yref: "paper", x: item.x, y: 1, xanchor: "left", yanchor: "bottom",
        showarrow: false, text: escape(item.text), font: { color: color },
      });
    }
    return { shapes: shapes, annotations: notes };
  }

  // The layout with the annotations drawn in it (the layout given is changed and returned).
  function decorate(layout, data, list) {
    if (!list.length && !(layout.shapes || []).some(ours) && !(layout.annotations || []).some(ours)) return layout;
    const drawn = parts(layout, data, list);
    layout.shapes = drawn.shapes;
    layout.annotations = drawn.annotations;
    return layout;
  }

  // Which annotations are drawn, as a string: a frame redraws them only when it changes.
  function key(layout, data, list) {
    return visible(layout, data, list).map(function (item) { return item.id + "@" + item.updated; }).join(",");
  }

  window.plotserverAnnotations = { parts: parts, decorate: decorate, key: key, prefix: PREFIX };
})();
