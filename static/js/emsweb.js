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
  function toast(text) {
    var box = document.getElementById("toasts");
    if (!box) return;
    var shown = document.createElement("div");
    shown.className = "toast";
    shown.setAttribute("role", "status");
    shown.textContent = text;
    box.appendChild(shown);
    setTimeout(function () { shown.remove(); }, 6000);
  }
  window.emswebToast = toast; // for the page scripts (static/js/trade.js)
  function toasts(root) {
    root.querySelectorAll("[data-toast]").forEach(function (el) {
      var text = el.getAttribute("data-toast");
      if (toasted[text]) return;
      toasted[text] = true;
      toast(text);
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

  // The page's stream. A page with live parts names them in data-stream ("page=blotter&all=1"):
  // it opens /stream with that query and the server pushes each part that changed as HTML,
  // swapped by htmx out of band (by id). While the stream is up, the parts' polling (the
  // elements marked data-poll) sends nothing; while it is down they poll, it reconnects with
  // backoff, and the badge in the top bar says which. Our own few lines rather than htmx's ws
  // extension: the polling switch, the badge, the heartbeat watchdog and following a page whose
  // live parts change (the ticket's outcome) would be this code anyway, and the extension would
  // try to swap every heartbeat (JSON) as HTML.
  var STALE_AFTER = 5000; // the server beats every second: this long silent is a dead stream
  var stream = { socket: null, query: null, live: false, delay: 0, timer: null, heard: 0 };

  function streamBadge() {
    var badge = document.getElementById("stream-state");
    if (!badge) return;
    badge.hidden = stream.query === null;
    badge.textContent = stream.live ? "live" : "polling";
    badge.className = "stream-state " + (stream.live ? "live" : "polling");
    badge.title = stream.live
      ? "Updates arrive as they happen"
      : "No live stream: the page polls until it reconnects";
    // For a page that says it where the user is looking (the trading screen).
    document.dispatchEvent(new CustomEvent("emsweb:stream", { detail: { live: stream.live } }));
  }

  function streamOpen() {
    clearTimeout(stream.timer);
    var scheme = location.protocol === "https:" ? "wss:" : "ws:";
    var socket = new WebSocket(scheme + "//" + location.host + "/stream?" + stream.query);
    stream.socket = socket;
    socket.onopen = function () {
      if (stream.socket !== socket) return;
      stream.live = true;
      stream.delay = 0;
      stream.heard = Date.now();
      streamBadge();
    };
    socket.onmessage = function (message) {
      if (stream.socket !== socket) return;
      stream.heard = Date.now();
      if (typeof message.data === "string" && message.data.charAt(0) === "<") {
        htmx.swap(document.body, message.data, { swapStyle: "none" });
      }
    };
    socket.onclose = function () { streamLost(socket); };
  }

  function streamLost(socket) {
    if (stream.socket !== socket) return;
    stream.socket = null;
    stream.live = false;
    streamBadge();
    socket.close();
    // 1 s, 2 s, 4 s … up to 30 s, with jitter, so that a restarted server is not stampeded.
    stream.delay = Math.min(stream.delay ? stream.delay * 2 : 1000, 30000);
    stream.timer = setTimeout(streamOpen, stream.delay * (0.5 + Math.random() / 2));
  }

  // After the page loads and after every swap: follow what the page names (none: no stream).
  function streamFollow() {
    var named = document.querySelector("[data-stream]");
    var query = named ? named.getAttribute("data-stream") : null;
    if (query === stream.query) return;
    var socket = stream.socket;
    clearTimeout(stream.timer);
    stream.socket = null;
    stream.live = false;
    stream.delay = 0;
    stream.query = query;
    if (socket) socket.close();
    if (query !== null) streamOpen();
    streamBadge();
  }

  setInterval(function () {
    if (stream.live && Date.now() - stream.heard > STALE_AFTER) streamLost(stream.socket);
  }, 1000);

  document.addEventListener("htmx:beforeRequest", function (event) {
    if (stream.live && event.detail.elt.hasAttribute("data-poll")) event.preventDefault();
  });

  // How old a figure read from a venue is ([data-read-at]), in words, kept current: past a few
  // seconds it is marked, so that nothing old reads as if it were live.
  var AGE_MARKED_AFTER = 5;
  function ages() {
    document.querySelectorAll("[data-read-at]").forEach(function (el) {
      var read = new Date(el.getAttribute("data-read-at"));
      if (isNaN(read)) return;
      var seconds = Math.max(0, Math.round((Date.now() - read) / 1000));
      var text = seconds < 2 ? "just now"
        : seconds < 120 ? seconds + " s ago"
        : Math.round(seconds / 60) + " min ago";
      if (el.textContent !== "(" + text + ")") el.textContent = "(" + text + ")";
      el.classList.toggle("stale", seconds > AGE_MARKED_AFTER);
    });
  }
  setInterval(ages, 1000);

  // The ticket's amount presets: a share of what is available, copied into the amount field,
  // which starts the ticket's check as typing would.
  document.addEventListener("click", function (event) {
    var preset = event.target.closest && event.target.closest("button[data-amount]");
    if (!preset || !preset.form) return;
    var amount = preset.form.querySelector("input[name=amount]");
    amount.value = preset.getAttribute("data-amount");
    amount.dispatchEvent(new Event("input", { bubbles: true }));
  });

  // The colour theme: the system's until the user picks one with the toggle, then theirs,
  // remembered in this browser (static/js/theme.js applies it before the page is drawn).
  function themeIsDark() {
    return document.documentElement.getAttribute("data-theme") === "dark";
  }
  function themeToggleShow() {
    var toggle = document.getElementById("theme-toggle");
    if (!toggle) return;
    toggle.hidden = false;
    toggle.setAttribute("aria-pressed", themeIsDark() ? "true" : "false");
  }
  document.addEventListener("click", function (event) {
    if (!event.target.closest || !event.target.closest("#theme-toggle")) return;
    var theme = themeIsDark() ? "light" : "dark";
    document.documentElement.setAttribute("data-theme", theme);
    try { localStorage.setItem("emsweb-theme", theme); } catch (e) { /* not remembered */ }
    themeToggleShow();
    document.dispatchEvent(new CustomEvent("emsweb:theme", { detail: { dark: theme === "dark" } }));
  });

  // A <details data-keep-open="key"> the user opened stays open when a push or a poll replaces
  // it (an algo's children on the blotter): the keys opened, followed by their toggle events.
  var keptOpen = {};
  document.addEventListener("toggle", function (event) {
    var key = event.target.getAttribute && event.target.getAttribute("data-keep-open");
    if (key) keptOpen[key] = event.target.open;
  }, true);
  function reopen() {
    document.querySelectorAll("details[data-keep-open]").forEach(function (details) {
      if (keptOpen[details.getAttribute("data-keep-open")] && !details.open) details.open = true;
    });
  }

  function enhance(root) { localTimes(root); toasts(root); charts(root); ages(); reopen(); }
  document.addEventListener("DOMContentLoaded", function () {
    enhance(document);
    themeToggleShow();
    streamFollow();
  });
  document.addEventListener("htmx:afterSettle", function (event) {
    enhance(event.target);
    streamFollow();
  });
})();
