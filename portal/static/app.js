// Jiedian client behaviour. No inline scripts: the CSP allows only files from /static.
(function () {
  "use strict";

  // Forms that ask before they act (delete buttons): data-confirm="…".
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute && form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
    }
  }, true);

  // htmx: CSRF travels in the X-CSRFToken header set once on <body> (hx-headers).
  // Errors (409, 422) come back with a fragment the user can read: swap it in.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var status = event.detail.xhr.status;
    if (status === 409 || status === 422 || status === 403) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });
})();
