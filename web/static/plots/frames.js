// One draw loop for every plot of a page (docs/dashboards.md, "Drawing under load").
//
// A viewer (viewer.js) does not ask the browser for animation frames itself: it tells this loop
// that it has something to draw, and the loop draws in one requestAnimationFrame for the whole
// page. A dashboard of 16 live panels, each redrawing itself every frame, spent far more than a
// frame in plotly.js and the page stuttered; here a frame draws panels only until its time budget
// is spent, in turn (the next frame begins where this one stopped, so no panel starves), and a
// draw that runs past the budget is paid back with frames that draw nothing. Under load each panel
// is simply drawn less often; its viewer keeps merging what arrives meanwhile, so nothing is lost.
// Panels scrolled out of view, and every panel of a hidden tab, are not drawn until they show.
(function () {
  "use strict";

  // Tests and embedding pages may tune these by setting window.plotserverFrameOptions first.
  // budgetMs: the drawing time a frame may spend (of ~16.7 ms at 60 Hz; the rest is the
  // browser's layout and paint, and the socket's messages).
  const options = Object.assign({ budgetMs: 8 }, window.plotserverFrameOptions || {});
  // A draw far past the budget (a snapshot of a large figure) is paid back with at most this many
  // idle frames: the page stays smooth, and the next panel's turn is not put off for long.
  const MAX_IDLE_FRAMES = 4;

  const painters = []; // in the order they joined: the ring the turns go round
  let next = 0; // the painter the next frame considers first
  let debt = 0; // drawing time spent past the budget, still to be paid back with idle frames
  let scheduled = false;
  // frames: animation frames the loop ran; draws: painters drawn; deferred: a painter with work
  // left for the next frame because the budget was spent; idle: frames that only paid back debt.
  const stats = { frames: 0, draws: 0, deferred: 0, idle: 0, worstFrameMs: 0 };

  const observer = typeof IntersectionObserver === "function" ? new IntersectionObserver(seen) : null;

  // Join the loop: draw() is called in a frame after request(); it draws what its viewer holds.
  function add(element, draw) {
    const painter = { element: element, draw: draw, wanted: false, inView: true, drawn: false };
    painters.push(painter);
    if (observer) observer.observe(element);
    return {
      request: function () {
        painter.wanted = true;
        schedule();
      },
    };
  }

  function seen(entries) {
    for (const entry of entries) {
      const painter = painters.find(function (p) { return p.element === entry.target; });
      if (painter) painter.inView = entry.isIntersecting;
    }
    if (painters.some(ready)) schedule();
  }

  // A painter out of view waits, once it has drawn a first time (so that every panel has a
  // figure, its axes linkable, before it is scrolled to).
  function ready(painter) {
    return painter.wanted && (painter.inView || !painter.drawn);
  }

  function schedule() {
    if (scheduled) return;
    scheduled = true;
    requestAnimationFrame(frame);
  }

  function frame() {
    scheduled = false;
    if (document.visibilityState === "hidden") return; // visibilitychange schedules again
    stats.frames += 1;
    if (debt > 0) {
      debt = Math.max(0, debt - options.budgetMs);
      stats.idle += 1;
      if (painters.some(ready)) schedule();
      return;
    }
    const began = performance.now();
    const count = painters.length;
    const first = next;
    let spent = 0;
    let drew = 0;
    for (let turn = 0; turn < count; turn++) {
      const index = (first + turn) % count;
      const painter = painters[index];
      if (!ready(painter)) continue;
      if (drew && spent >= options.budgetMs) {
        stats.deferred += 1;
        break;
      }
      painter.wanted = false;
      painter.drawn = true;
      try {
        painter.draw();
      } catch (error) {
        console.error("a plot could not be drawn", error); // that plot's alone: the others draw on
      }
      drew += 1;
      next = (index + 1) % count;
      spent = performance.now() - began;
    }
    stats.draws += drew;
    stats.worstFrameMs = Math.max(stats.worstFrameMs, Math.round(spent));
    debt = Math.min(Math.max(0, spent - options.budgetMs), MAX_IDLE_FRAMES * options.budgetMs);
    if (painters.some(ready)) schedule();
  }

  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible" && painters.some(ready)) schedule();
  });

  window.plotserverFrames = { add: add, stats: stats, options: options };
})();
