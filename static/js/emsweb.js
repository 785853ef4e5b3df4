// emsweb's only script: progressive enhancement, no inline code (the pages run under a CSP).
(function () {
  "use strict";

  // Times arrive in UTC; show them in the user's own zone, with UTC on hover. Those marked
  // data-ms (an order's timeline) keep their milliseconds.
  function localTimes(root) {
    root.querySelectorAll("time[datetime]:not([data-local])").forEach(function (el) {
      var when = new Date(el.getAttribute("datetime"));
      if (isNaN(when)) return;
      el.textContent = when.toLocaleString(undefined, {
        year: "numeric", month: "2-digit", day: "2-digit",
        hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false,
        fractionalSecondDigits: el.hasAttribute("data-ms") ? 3 : undefined,
      });
      el.setAttribute("data-local", "1");
    });
  }

  // Fills and rejections announce themselves: elements with data-toast become toasts once.
  var toasted = {};
  function toasts(root) {
    root.querySelectorAll("[data-toast]").forEach(function (el) {
      var text = el.getAttribute("data-toast");
      if (toasted[text]) return;
      toasted[text] = true;
      var box = document.getElementById("toasts");
      if (!box) return;
      var toast = document.createElement("div");
      toast.className = "toast";
      toast.setAttribute("role", "status");
      toast.textContent = text;
      box.appendChild(toast);
      setTimeout(function () { toast.remove(); }, 6000);
    });
  }

  function charts(root) {
    root.querySelectorAll("[data-chart]").forEach(function (el) {
      if (el.getAttribute("data-drawn") || typeof uPlot === "undefined") return;
      var source = document.getElementById(el.getAttribute("data-chart"));
      var data = JSON.parse(source.textContent);
      if (data.t.length < 2) return;
      el.textContent = "";
      new uPlot({
        width: Math.min(el.clientWidth || 800, 1000), height: 220,
        series: [{}, { label: "USD", stroke: "#0969da", width: 2 }],
        axes: [{}, { size: 80 }],
      }, [data.t, data.v], el);
      el.setAttribute("data-drawn", "1");
    });
  }

  function enhance(root) { localTimes(root); toasts(root); charts(root); }
  document.addEventListener("DOMContentLoaded", function () { enhance(document); });
  document.addEventListener("htmx:afterSettle", function (event) { enhance(event.target); });
})();
