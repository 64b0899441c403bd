// The plot's colours follow the browser's preference (prefers-color-scheme), as the pages do
// (plotserver.css): dark, a figure without a template of its own is drawn with a dark one; the
// preference changing while the page is open redraws the plot in the other. A figure's own
// colours and template always win (a template only gives defaults).
(function () {
  "use strict";

  const GRID = "#334155";
  const DARK = {
    layout: {
      paper_bgcolor: "#1b2330",
      plot_bgcolor: "#1b2330",
      font: { color: "#dde5ee" },
      xaxis: { gridcolor: GRID, linecolor: GRID, zerolinecolor: "#4b5b70" },
      yaxis: { gridcolor: GRID, linecolor: GRID, zerolinecolor: "#4b5b70" },
      scene: {
        xaxis: { gridcolor: GRID, zerolinecolor: "#4b5b70", backgroundcolor: "#1b2330" },
        yaxis: { gridcolor: GRID, zerolinecolor: "#4b5b70", backgroundcolor: "#1b2330" },
        zaxis: { gridcolor: GRID, zerolinecolor: "#4b5b70", backgroundcolor: "#1b2330" },
      },
      polar: { bgcolor: "#1b2330", radialaxis: { gridcolor: GRID }, angularaxis: { gridcolor: GRID } },
      modebar: { bgcolor: "rgba(0, 0, 0, 0)", color: "#93a4b6", activecolor: "#dde5ee" },
    },
  };
  const query = window.matchMedia ? window.matchMedia("(prefers-color-scheme: dark)") : null;

  function dark() {
    return !!(query && query.matches);
  }

  function ours(template) {
    return template === undefined || template === null || JSON.stringify(template) === JSON.stringify(DARK);
  }

  // The layout to draw: the figure's, with the dark template when the preference is dark and the
  // figure has no template of its own.
  function layout(figureLayout) {
    const result = figureLayout || {};
    if (!ours(result.template)) return result;
    if (dark()) result.template = structuredClone(DARK);
    else delete result.template;
    return result;
  }

  if (query) {
    query.addEventListener("change", function () {
      const el = document.getElementById("plot");
      if (!el || !el._fullLayout || !window.Plotly || !ours(el.layout && el.layout.template)) return;
      // Whatever is drawn now (live, history or replay) changes colour, and nothing else.
      Plotly.relayout(el, { template: dark() ? structuredClone(DARK) : null });
    });
  }

  window.plotserverTheme = { layout: layout, dark: dark };
})();
