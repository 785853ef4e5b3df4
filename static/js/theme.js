// The colour theme, set before the page is drawn: the one the user chose with the toggle
// (remembered in this browser), else the system's (prefers-color-scheme), followed as it changes.
(function () {
  "use strict";
  var root = document.documentElement;
  var system = window.matchMedia ? window.matchMedia("(prefers-color-scheme: dark)") : null;
  function chosen() {
    try {
      var theme = localStorage.getItem("emsweb-theme");
      return theme === "dark" || theme === "light" ? theme : null;
    } catch (e) {
      return null; // storage refused (a private window): follow the system
    }
  }
  function apply() {
    root.setAttribute("data-theme", chosen() || (system && system.matches ? "dark" : "light"));
  }
  apply();
  if (system && system.addEventListener) system.addEventListener("change", apply);
})();
