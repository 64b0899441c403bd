// "Waiting for data" goes away once the plot has a point; tabs pick a producer command.
(function () {
  "use strict";
  const waiting = document.getElementById("waiting");
  const plot = document.getElementById("plot");
  if (waiting && plot) {
    const timer = setInterval(function () {
      const traces = plot.data || [];
      const drawn = traces.some(function (trace) {
        return ["x", "y", "z", "values", "lat", "r"].some(function (key) {
          return Array.isArray(trace[key]) && trace[key].length > 0;
        });
      });
      if (drawn) {
        waiting.hidden = true;
        clearInterval(timer);
      }
    }, 500);
  }
})();
