// The trading screen (templates/orders/trade.html): its keyboard, its state in words, the order
// book and the chart. Orders, fills and balances arrive as HTML over the page's stream
// (static/js/emsweb.js); the book and candles come from the market data client
// (window.emswebMarket, static/js/market.js) where the server has it.
(function () {
  "use strict";

  var screen = null; // #trade-screen
  var STALE_AFTER = 5; // seconds: older data is said to be old, never shown as live
  var BOOK_LEVELS = 10;

  function ticketForm() { return document.querySelector("#ticket form"); }
  function field(name) {
    var form = ticketForm();
    return form ? form.querySelector("[name=" + name + "]") : null;
  }
  function changed(input, type) {
    input.dispatchEvent(new Event(type || "input", { bubbles: true }));
  }
  function say(text) {
    if (window.emswebToast) window.emswebToast(text);
  }
  function ageOf(moment) {
    if (moment === null || moment === undefined || moment === "") return null;
    var when = typeof moment === "number" || /^\d+(\.\d+)?$/.test(String(moment))
      ? Number(moment) : Date.parse(moment);
    if (isNaN(when)) return null;
    if (when < 1e12) when *= 1000; // seconds since the epoch
    return Math.max(0, Math.round((Date.now() - when) / 1000));
  }

  // --- the screen's state, in words --------------------------------------------------------

  var streamLive = null; // null: not known yet
  var liveElement = null;
  var liveSince = Date.now(); // when the live part last changed (a push or a poll)

  function stateSay() {
    var state = document.getElementById("screen-state");
    if (!state) return;
    var current = document.getElementById("trade-live");
    if (current !== liveElement) {
      liveElement = current;
      liveSince = Date.now();
      deskChanged();
      // The ticket's figures (what is available) follow the orders and balances: checked again.
      var form = ticketForm();
      if (form) form.dispatchEvent(new Event("change", { bubbles: true }));
    }
    var age = Math.round((Date.now() - liveSince) / 1000);
    var text, kind;
    if (streamLive === null) {
      text = "Connecting to live updates…";
      kind = "";
    } else if (streamLive) {
      text = "Live: orders, fills and balances arrive as they happen.";
      kind = "live";
    } else {
      text = "Live updates are down: polling every 2 s" +
        (age > STALE_AFTER ? "; orders, fills and balances last refreshed " + age + " s ago." : ".");
      kind = "down";
    }
    if (state.textContent !== text) state.textContent = text;
    state.className = "screen-state " + kind;
  }
  document.addEventListener("emsweb:stream", function (event) {
    streamLive = event.detail.live;
    stateSay();
  });

  // --- keyboard -----------------------------------------------------------------------------

  var TYPED = /^(text|search|number|email|password|tel|url|date|datetime-local|time|month|week)$/;
  function typingIn(el) {
    if (!el || el === document.body) return false;
    if (el.isContentEditable || el.tagName === "TEXTAREA" || el.tagName === "SELECT") return true;
    return el.tagName === "INPUT" && TYPED.test((el.getAttribute("type") || "text").toLowerCase());
  }
  function pressable(el) {
    return el && (el.tagName === "BUTTON" || el.tagName === "A" || el.tagName === "SUMMARY");
  }

  function sideChoose(side) {
    var radio = ticketForm() && ticketForm().querySelector("input[name=side][value=" + side + "]");
    if (!radio) return;
    radio.checked = true;
    changed(radio, "change");
  }

  function ticketSend() {
    var form = ticketForm();
    if (form) form.requestSubmit();
  }

  function ticketClear() {
    ["amount", "price"].forEach(function (name) {
      var input = field(name);
      if (input) input.value = "";
    });
    var confirm = field("confirm_far");
    if (confirm) confirm.checked = false;
    var amount = field("amount");
    if (amount) changed(amount);
  }

  // The pk of the last order sent from this screen, kept for the tab's life (a reload too).
  var lastSent = null;
  function lastSentKey() {
    return "emsweb-last-sent:" + screen.getAttribute("data-account") + ":" +
      screen.getAttribute("data-instrument");
  }
  function outcomeSeen() {
    var outcome = document.querySelector("#ticket #outcome[data-order]");
    if (outcome) {
      lastSent = outcome.getAttribute("data-order");
      try { sessionStorage.setItem(lastSentKey(), lastSent); } catch (e) { /* kept in memory */ }
    } else if (lastSent === null) {
      try { lastSent = sessionStorage.getItem(lastSentKey()); } catch (e) { /* none kept */ }
    }
  }

  function cancelLast() {
    if (!lastSent) {
      say("No order has been sent from this screen yet.");
      return;
    }
    var url = screen.getAttribute("data-cancel-url").replace(/\/0\/(?=\?|$)/, "/" + lastSent + "/");
    var headers = JSON.parse(document.body.getAttribute("hx-headers") || "{}");
    htmx.ajax("POST", url, { target: "#trade-live", swap: "outerHTML", headers: headers });
  }

  function shortcutsShow() {
    var dialog = document.getElementById("shortcuts");
    if (dialog && !dialog.open) dialog.showModal();
  }

  function onKey(event) {
    if (event.ctrlKey || event.metaKey || event.altKey || event.isComposing) return;
    var dialog = document.getElementById("shortcuts");
    if (dialog && dialog.open) return; // the dialog closes itself on Esc
    var focused = document.activeElement;
    var form = ticketForm();
    if (event.key === "Escape") {
      // Esc in another text field (the instrument search) is that field's own.
      if (typingIn(focused) && !(form && form.contains(focused))) return;
      ticketClear();
      if (focused && focused.blur) focused.blur();
      event.preventDefault();
      return;
    }
    if (typingIn(focused)) return;
    switch (event.key) {
      case "b": case "B": sideChoose("BUY"); break;
      case "s": case "S": sideChoose("SELL"); break;
      case "Enter":
        if (pressable(focused)) return; // a focused button or link does its own thing
        ticketSend();
        break;
      case "c": case "C": cancelLast(); break;
      case "?": shortcutsShow(); break;
      default: return;
    }
    event.preventDefault();
  }

  // --- order book -----------------------------------------------------------------------------

  var book = null;
  var bookDrawPending = false;
  var desk = {}; // deskSizes(), read again only when the live part changes
  var marketStatus = { state: "", message: "" };

  // The desk's open size at each price of this instrument: from the working orders shown, or
  // from the server's sums when there are more working orders than rows (#desk-levels).
  function deskSizes() {
    var sizes = {};
    var levels = document.querySelectorAll("#desk-levels li");
    var rows = levels.length ? levels : document.querySelectorAll("#trade-live .working-order");
    rows.forEach(function (row) {
      var key = String(Number(row.getAttribute("data-price")));
      sizes[key] = (sizes[key] || 0) + Number(row.getAttribute("data-open"));
    });
    return sizes;
  }

  function bookLevelRow(tbody, index, side) {
    var row = tbody.rows[index];
    if (row) return row;
    row = tbody.insertRow();
    var price = document.createElement("button");
    price.type = "button";
    price.className = "level";
    row.insertCell().appendChild(price);
    row.insertCell();
    row.insertCell().className = "desk";
    row.setAttribute("data-side", side);
    return row;
  }

  function bookSide(tbody, levels, side, desk) {
    levels.forEach(function (level, index) {
      var row = bookLevelRow(tbody, index, side);
      var price = row.cells[0].firstChild;
      if (price.textContent !== level[0]) {
        price.textContent = level[0];
        price.setAttribute("data-price", level[0]);
        price.setAttribute("aria-label", (side === "ask" ? "Ask " : "Bid ") + level[0] +
          ": put this price in the ticket");
      }
      if (row.cells[1].textContent !== level[1]) row.cells[1].textContent = level[1];
      var mine = desk[String(Number(level[0]))];
      var text = mine ? String(mine) : "";
      if (row.cells[2].textContent !== text) row.cells[2].textContent = text;
    });
    while (tbody.rows.length > levels.length) tbody.deleteRow(-1);
  }

  // At most one drawing per frame, however often the book changes (coalesced).
  function bookDraw() {
    if (bookDrawPending) return;
    bookDrawPending = true;
    requestAnimationFrame(function () {
      bookDrawPending = false;
      if (!book) return;
      bookSide(document.getElementById("book-asks"),
        (book.asks || []).slice(0, BOOK_LEVELS).reverse(), "ask", desk);
      bookSide(document.getElementById("book-bids"),
        (book.bids || []).slice(0, BOOK_LEVELS), "bid", desk);
    });
  }

  function onBookClick(event) {
    var level = event.target.closest && event.target.closest("#book button.level");
    if (!level) return;
    var price = field("price");
    if (!price) return;
    price.value = level.getAttribute("data-price");
    changed(price);
  }

  // Said when the market data's status comes without words of its own.
  var MARKET_WORDS = {
    live: "Live",
    waiting: "Waiting for the venue's first read…",
    stale: "Stale: the venue has not sent fresh data",
    venue_unreachable: "The venue is unreachable",
    key_refused: "The account's key was refused",
  };

  // The book's and chart's state in words, with the data's age past a few seconds.
  function marketSay() {
    var age = book ? ageOf(book.read_at) : null;
    var state = marketStatus.state;
    var words = marketStatus.message || MARKET_WORDS[state] || state || "";
    var stale = state !== "live" || (age !== null && age > STALE_AFTER);
    var bookText;
    if (!window.emswebMarket) {
      bookText = "No market data on this server.";
    } else if (!book) {
      bookText = words || "Waiting for the venue's book…";
    } else {
      bookText = words + (age !== null && age > STALE_AFTER ? " (book read " + age + " s ago)" : "");
    }
    ["book-state", "chart-state"].forEach(function (id) {
      var el = document.getElementById(id);
      if (!el) return;
      var text = id === "chart-state" && window.emswebMarket ? (words || "Waiting for candles…") : bookText;
      if (el.textContent !== text) el.textContent = text;
      el.classList.toggle("stale", Boolean(window.emswebMarket) && stale);
    });
    var table = document.getElementById("book");
    if (table) table.classList.toggle("stale", stale);
  }

  // --- chart ------------------------------------------------------------------------------

  var chart = null;
  var candles = null;
  var markers = null;
  var lines = {}; // order pk -> price line
  var TIMEFRAME = 60; // seconds per candle

  function css(name) {
    return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  }

  function chartColours() {
    return {
      layout: {
        background: { type: "solid", color: css("--bg") },
        textColor: css("--ink"),
        attributionLogo: false, // it would add a <style> the CSP refuses; credited in the page
      },
      grid: { vertLines: { color: css("--line") }, horzLines: { color: css("--line") } },
    };
  }

  function chartMake() {
    var box = document.getElementById("chart");
    if (!box || typeof LightweightCharts === "undefined") return;
    var options = chartColours();
    options.autoSize = true;
    options.timeScale = { timeVisible: true, secondsVisible: false };
    chart = LightweightCharts.createChart(box, options);
    candles = chart.addSeries(LightweightCharts.CandlestickSeries, {
      upColor: css("--buy"), downColor: css("--sell"), borderVisible: false,
      wickUpColor: css("--buy"), wickDownColor: css("--sell"),
    });
    markers = LightweightCharts.createSeriesMarkers(candles, []);
  }

  function seconds(t) {
    var value = Number(t);
    return value > 1e12 ? Math.floor(value / 1000) : value;
  }
  function candleOf(c) {
    return { time: seconds(c[0]), open: Number(c[1]), high: Number(c[2]), low: Number(c[3]), close: Number(c[4]) };
  }

  // The desk's working orders as price lines, its fills as markers: read from the live part.
  function deskOnChart() {
    if (!candles) return;
    var seen = {};
    var drawn = [];
    document.querySelectorAll("#trade-live .working-order").forEach(function (row) {
      drawn.push(row.getAttribute("data-price"));
      var pk = row.getAttribute("data-pk");
      var buy = row.getAttribute("data-side") === "BUY";
      var options = {
        price: Number(row.getAttribute("data-price")),
        color: css(buy ? "--buy" : "--sell"),
        lineWidth: 1, lineStyle: 2, axisLabelVisible: true,
        title: (buy ? "Buy " : "Sell ") + row.getAttribute("data-open"),
      };
      seen[pk] = true;
      if (lines[pk]) lines[pk].applyOptions(options);
      else lines[pk] = candles.createPriceLine(options);
    });
    Object.keys(lines).forEach(function (pk) {
      if (seen[pk]) return;
      candles.removePriceLine(lines[pk]);
      delete lines[pk];
    });
    var fills = [];
    document.querySelectorAll("#trade-live tr.fill").forEach(function (row) {
      var buy = row.getAttribute("data-side") === "BUY";
      var time = Number(row.getAttribute("data-time"));
      fills.push({
        time: time - (time % TIMEFRAME),
        position: buy ? "belowBar" : "aboveBar",
        shape: buy ? "arrowUp" : "arrowDown",
        color: css(buy ? "--buy" : "--sell"),
        text: (buy ? "B " : "S ") + row.getAttribute("data-price"),
      });
    });
    fills.sort(function (a, b) { return a.time - b.time; });
    markers.setMarkers(fills);
    var box = document.getElementById("chart");
    // What the chart holds, for people who cannot see it and for the browser tests.
    box.setAttribute("data-price-lines", drawn.join(" "));
    box.setAttribute("data-markers", String(fills.length));
  }

  function deskChanged() {
    desk = deskSizes();
    deskOnChart();
    bookDraw();
  }

  // --- market data --------------------------------------------------------------------------

  function marketOpen() {
    if (!window.emswebMarket) {
      marketSay();
      return;
    }
    window.emswebMarket.open({
      account: screen.getAttribute("data-account"),
      instrument: screen.getAttribute("data-instrument"),
      onBook: function (next) { book = next; bookDraw(); marketSay(); },
      onCandles: function (message) {
        if (candles) candles.setData((message.candles || []).map(candleOf));
        deskOnChart();
      },
      onCandle: function (candle) { if (candles) candles.update(candleOf(candle)); },
      onStatus: function (status) { marketStatus = status || marketStatus; marketSay(); },
    });
  }

  document.addEventListener("emsweb:theme", function () {
    if (!chart) return;
    chart.applyOptions(chartColours());
    candles.applyOptions({ upColor: css("--buy"), downColor: css("--sell"),
      wickUpColor: css("--buy"), wickDownColor: css("--sell") });
    deskOnChart();
  });

  // --- start -------------------------------------------------------------------------------

  document.addEventListener("DOMContentLoaded", function () {
    screen = document.getElementById("trade-screen");
    if (!screen) return;
    document.addEventListener("keydown", onKey);
    document.addEventListener("click", onBookClick);
    var help = document.getElementById("shortcuts-open");
    if (help) help.addEventListener("click", shortcutsShow);
    // Choosing another account or instrument opens its screen.
    var choose = document.getElementById("screen-choose");
    document.getElementById("screen-account").addEventListener("change", function () {
      choose.requestSubmit();
    });
    chartMake();
    liveElement = document.getElementById("trade-live");
    outcomeSeen();
    deskChanged();
    marketOpen();
    stateSay();
    setInterval(function () { stateSay(); marketSay(); }, 1000);
  });
  document.addEventListener("htmx:oobAfterSwap", function () { if (screen) stateSay(); });
  document.addEventListener("htmx:afterSettle", function () {
    if (!screen) return;
    outcomeSeen();
    stateSay();
  });
})();
