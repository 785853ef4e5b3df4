// The trading screen's market data client: one WebSocket to /stream/market per screen.
//
//   var feed = window.emswebMarket.open({
//     account: 12, instrument: "BTCUSD",
//     onBook: function (book) {}, onCandles: function (msg) {}, onCandle: function (candle) {},
//     onStatus: function (status) {},
//   });
//   feed.close();
//
// What the server sends (JSON text; prices and sizes are decimal strings, never floats: parse
// them where they are drawn, compare them as strings or with a decimal library):
//   {"type": "book", "bids": [["49990.5", "0.25"], ...], "asks": [...], "read_at": 1764800000.123}
//       best first on each side; read_at: when a worker read it from the venue (epoch seconds).
//   {"type": "candles", "timeframe": "1m", "candles": [[t, "o", "h", "l", "c", "v"], ...],
//    "read_at": ...}   the whole history, oldest first; t: the bar's start (epoch seconds).
//   {"type": "candle", "timeframe": "1m", "candle": [t, "o", "h", "l", "c", "v"], "read_at": ...}
//       the last bar changed, or a new one began (t tells which).
//   {"type": "status", "state": "...", "message": "words for a trader", "read_at": ... | null}
//       read_at: the book's time when the status is about its age (stale, unreachable).
//       state: live, waiting, stale, throttled, venue_unreachable, refused, no_market_data,
//       key_refused, account_alert, sync_failed, disabled; and from this client itself:
//       stream_down (the connection is lost; it reconnects with back-off).
//
// onBook is given the parsed message; onCandles the whole message; onCandle the bar (the array).
// The server sends at most ten updates a second, the latest of each. This client keeps at most
// one book waiting: if the page renders on requestAnimationFrame and reads `feed.book()` there,
// a burst between two frames costs one render, and nothing ever queues up.
(function () {
  "use strict";

  var MAX_DELAY = 30000;
  var GIVE_UP_CODES = { 4404: true }; // the venue has no such instrument: no point retrying

  function noop() {}

  function open(options) {
    var handlers = {
      book: options.onBook || noop,
      candles: options.onCandles || noop,
      candle: options.onCandle || noop,
      status: options.onStatus || noop,
    };
    var query =
      "account=" + encodeURIComponent(options.account) +
      "&instrument=" + encodeURIComponent(options.instrument);
    var state = { socket: null, delay: 0, timer: null, closed: false, latestBook: null };

    function connect() {
      clearTimeout(state.timer);
      if (state.closed) return;
      var scheme = location.protocol === "https:" ? "wss:" : "ws:";
      var socket = new WebSocket(scheme + "//" + location.host + "/stream/market?" + query);
      state.socket = socket;
      socket.onopen = function () {
        if (state.socket === socket) state.delay = 0;
      };
      socket.onmessage = function (event) {
        if (state.socket !== socket || typeof event.data !== "string") return;
        var message;
        try {
          message = JSON.parse(event.data);
        } catch (error) {
          return;
        }
        if (message.type === "book") {
          state.latestBook = message; // only the latest is kept
          handlers.book(message);
        } else if (message.type === "candles") {
          handlers.candles(message);
        } else if (message.type === "candle") {
          handlers.candle(message.candle);
        } else if (message.type === "status") {
          handlers.status(message);
        }
      };
      socket.onclose = function (event) {
        if (state.socket !== socket) return;
        state.socket = null;
        if (state.closed) return;
        if (GIVE_UP_CODES[event.code]) return; // its status said why
        handlers.status({
          type: "status",
          state: "stream_down",
          message: "The live stream is down: prices are not updating. Reconnecting…",
          read_at: state.latestBook ? state.latestBook.read_at : null,
        });
        // 1 s, 2 s, 4 s … up to 30 s, with jitter, so that a restarted server is not stampeded.
        state.delay = Math.min(state.delay ? state.delay * 2 : 1000, MAX_DELAY);
        state.timer = setTimeout(connect, state.delay * (0.5 + Math.random() / 2));
      };
    }

    connect();
    return {
      close: function () {
        state.closed = true;
        clearTimeout(state.timer);
        if (state.socket) state.socket.close();
        state.socket = null;
      },
      book: function () {
        return state.latestBook;
      },
    };
  }

  window.emswebMarket = { open: open };
})();
