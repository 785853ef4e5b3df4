// A parent's page: its fills against its schedule (uPlot), read from the page's chart URL
// and read again every few seconds while the parent runs.
(function () {
  "use strict";

  function stepped(points, xs) {
    // The value of a cumulative series at each x: the last point at or before it.
    var out = [], j = -1;
    for (var i = 0; i < xs.length; i++) {
      while (j + 1 < points.length && points[j + 1][0] <= xs[i]) j++;
      out.push(j >= 0 ? points[j][1] : (points.length && points[0][0] > xs[i] ? 0 : null));
    }
    return out;
  }

  function draw(box, data, plot) {
    var xs = data.schedule.map(function (p) { return p[0]; })
      .concat(data.filled.map(function (p) { return p[0]; }))
      .sort(function (a, b) { return a - b; });
    if (!xs.length) return plot;
    var series = [xs, stepped(data.schedule, xs), stepped(data.filled, xs)];
    if (plot) { plot.setData(series); return plot; }
    return new uPlot({
      width: box.clientWidth || 640,
      height: 260,
      series: [
        {},
        { label: "Schedule", stroke: "#888", paths: uPlot.paths.stepped({ align: 1 }) },
        { label: "Filled", stroke: "#2a7", paths: uPlot.paths.stepped({ align: 1 }) },
      ],
    }, series, box);
  }

  function start() {
    var box = document.getElementById("algo-chart");
    if (!box || typeof uPlot === "undefined") return;
    var plot = null;
    function load() {
      fetch(box.dataset.url, { credentials: "same-origin" })
        .then(function (r) { return r.json(); })
        .then(function (data) { plot = draw(box, data, plot); box.dataset.points = data.filled.length; });
    }
    load();
    setInterval(load, 3000);
  }

  document.addEventListener("DOMContentLoaded", start);
})();
