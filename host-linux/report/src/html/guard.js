// Makes every error of the page visible: in a box at its top and as
// `data-error` on <html>, which the browser test reads.
(function () {
  "use strict";
  var errors = [];
  function show(text) {
    errors.push(String(text));
    document.documentElement.dataset.error = String(errors.length);
    render();
  }
  function render() {
    var box = document.getElementById("errors");
    if (box && errors.length) {
      box.hidden = false;
      box.textContent = errors.join("\n");
    }
  }
  window.onerror = function (message, source, line, column) {
    show("error: " + message + " (line " + line + ":" + column + ")");
  };
  window.addEventListener("unhandledrejection", function (e) {
    show("unhandled rejection: " + e.reason);
  });
  var consoleError = console.error;
  console.error = function () {
    show("console.error: " + Array.prototype.join.call(arguments, " "));
    consoleError.apply(console, arguments);
  };
  // Errors before the box existed show once it does.
  document.addEventListener("DOMContentLoaded", render);
})();
