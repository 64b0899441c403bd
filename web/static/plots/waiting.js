// "Waiting for data" goes away once the plot has a point; tabs pick a producer command.
(function () {
  "use strict";
  const waiting = document.getElementById("waiting");
  const plot = document.getElementById("plot");
  if (waiting && plot) {
    // The attributes that count points: the server's one list (core/protocol.py COORDINATES).
    const coordinates = JSON.parse(document.getElementById("point-coordinates").textContent);
    const timer = setInterval(function () {
      const traces = plot.data || [];
      const drawn = traces.some(function (trace) {
        return coordinates.some(function (key) {
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
