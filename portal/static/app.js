// Jiedian client behaviour. No inline scripts: the CSP allows only files from /static.
(function () {
  "use strict";

  function csrfToken() {
    try {
      return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"] || "";
    } catch (e) {
      return "";
    }
  }

  // Forms that ask before they act (delete buttons): data-confirm="…".
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute && form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  }, true);

  // Selects that navigate on change (the unit switcher); the button stays for no-JS.
  document.addEventListener("change", function (event) {
    if (event.target.matches && event.target.matches("select[data-autosubmit]")) {
      event.target.form.submit();
    }
  });

  // The top bar on a phone: folded to the brand, the workbench (with its to-do badge) and the bell;
  // the menu button unfolds the rest. Without this script the whole bar shows, as on a desktop.
  document.addEventListener("DOMContentLoaded", function () {
    var bar = document.querySelector(".topbar");
    var toggle = bar && bar.querySelector(".menu-toggle");
    if (!toggle) { return; }
    bar.classList.add("is-foldable");
    toggle.hidden = false;
    toggle.addEventListener("click", function () {
      var open = bar.classList.toggle("menu-open");
      toggle.setAttribute("aria-expanded", open ? "true" : "false");
    });
  });

  // Navigation menus (<details>): one open at a time; a click elsewhere or Escape closes them.
  function closeMenus(except) {
    document.querySelectorAll("details.navmenu[open]").forEach(function (menu) {
      if (menu !== except) { menu.open = false; }
    });
  }
  document.addEventListener("click", function (event) {
    closeMenus(event.target.closest ? event.target.closest("details.navmenu") : null);
  });
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape") {
      var open = document.querySelector("details.navmenu[open]");
      if (open) {
        open.open = false;
        open.querySelector("summary").focus();
      }
    }
  });

  // The keyboard move control: the select shows the card's column; arrows pick a
  // legal target and Enter moves the card (a select does not submit by itself).
  document.addEventListener("keydown", function (event) {
    var select = event.target;
    if (event.key !== "Enter" || !select.matches || !select.matches(".move-form select[name=status]")) { return; }
    if (!select.value) { return; }
    event.preventDefault();
    select.form.requestSubmit();
  });

  // htmx: refusals (403, 409, 422) come back with a fragment the user can read.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var status = event.detail.xhr.status;
    if (status === 403 || status === 409 || status === 422) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });

  // Any other failure (an expired form, a file over the limit, a server or
  // gateway error, no network): htmx swaps nothing, so say so here, in the
  // open dialog if there is one, and put a dragged card back in its column.
  function failureText(xhr) {
    var alert = document.getElementById("request-alert");
    if (!xhr || !xhr.status) { return alert.dataset.network; }
    var page = new DOMParser().parseFromString(xhr.responseText || "", "text/html");
    var own = page.querySelector(".error-page p");  // the portal's own error fragment says why
    if (own && own.textContent.trim()) { return own.textContent.trim(); }
    return xhr.status === 413 ? alert.dataset.tooLarge : alert.dataset.server;
  }

  function showFailure(text) {
    var dialog = modal();
    var host = dialog && dialog.open ? dialog : document.getElementById("request-alert");
    var line = host.querySelector(".request-failure");
    if (!line) {
      line = document.createElement("p");
      line.className = "flash flash-error request-failure";
      line.setAttribute("role", "alert");
      host.insertBefore(line, host.firstChild);
    }
    line.textContent = text;
    host.hidden = false;
  }

  // The next request that gets through takes the message away (a status
  // poll that keeps failing keeps it).
  document.addEventListener("htmx:afterRequest", function (event) {
    if (!event.detail.successful) { return; }
    document.querySelectorAll(".request-failure").forEach(function (line) { line.remove(); });
    var alert = document.getElementById("request-alert");
    if (alert) { alert.hidden = true; }
  });

  document.addEventListener("htmx:responseError", function (event) {
    showFailure(failureText(event.detail.xhr));
    placeCards();
  });
  document.addEventListener("htmx:sendError", function () {
    showFailure(failureText(null));
    placeCards();
  });

  // ---- the modal dialog (sign-off, reasons) ----
  function modal() { return document.getElementById("modal"); }

  document.addEventListener("htmx:afterSwap", function (event) {
    var dialog = modal();
    if (dialog && event.detail.target === dialog && !dialog.open) {
      dialog.showModal();
      var first = dialog.querySelector("textarea, input:not([type=hidden]), select, button");
      if (first) { first.focus(); }
    }
  });
  document.addEventListener("jiedian:closeModal", function () {
    var dialog = modal();
    if (dialog && dialog.open) { dialog.close(); }
  });
  document.addEventListener("click", function (event) {
    if (event.target.closest && event.target.closest(".close-modal")) {
      var dialog = modal();
      if (dialog) { dialog.close(); }
    }
  });

  // ---- the board ----
  function board() { return document.getElementById("board"); }

  function urlFor(template, id) {
    return template.replace("/0/", "/" + id + "/");
  }

  // Put every card in the column its status says, in deadline order: after a
  // move, a refusal (the card snaps back) or a stale card refreshed (409).
  function placeCards() {
    var root = board();
    if (!root) { return; }
    root.querySelectorAll(".node-card").forEach(function (card) {
      var column = root.querySelector('.column-body[data-column="' + card.dataset.status + '"]');
      if (!column || card.parentElement === column) { return; }
      var before = null;
      column.querySelectorAll(".node-card").forEach(function (other) {
        if (!before && other !== card && other.dataset.deadline > card.dataset.deadline) { before = other; }
      });
      column.insertBefore(card, before);
    });
  }

  function filterValues() {
    var values = {};
    var form = document.getElementById("board-filters");
    if (form) {
      new FormData(form).forEach(function (value, key) { values[key] = value; });
    }
    return values;
  }

  // htmx.ajax's promise is rejected when the request cannot be sent; the
  // htmx:sendError handler above has already told the user.
  function request(verb, url, options) {
    htmx.ajax(verb, url, options).catch(function () {});
  }

  function snapBack(evt) {
    var from = evt.from;
    from.insertBefore(evt.item, from.children[evt.oldIndex] || null);
  }

  function onDrop(evt) {
    var card = evt.item;
    var source = evt.from.dataset.column;
    var target = evt.to.dataset.column;
    if (source === target) { snapBack(evt); return; }  // columns are ordered by deadline
    var root = board();
    var id = card.dataset.nodeId;
    if (target === "review") {
      // Submitting for sign-off needs what was done and the evidence: the form, not a bare drop.
      snapBack(evt);
      request("GET", urlFor(root.dataset.submitUrl, id), { target: "#modal", swap: "innerHTML" });
      return;
    }
    if (target === "doing" && (source === "review" || source === "done")) {
      snapBack(evt);  // sending back or reopening needs a reason
      request("GET", urlFor(root.dataset.moveUrl, id) + "?status=doing", { target: "#modal", swap: "innerHTML" });
      return;
    }
    var values = filterValues();
    values.status = target;
    values.version = card.dataset.version;
    request("POST", urlFor(root.dataset.moveUrl, id), {
      source: card,
      target: card,
      swap: "outerHTML",
      values: values,
      headers: { "X-CSRFToken": csrfToken() }
    });
  }

  function initBoard() {
    var root = board();
    if (!root || !window.Sortable) { return; }
    root.querySelectorAll(".column-body").forEach(function (column) {
      if (column.dataset.sortable) { return; }
      column.dataset.sortable = "1";
      window.Sortable.create(column, {
        group: "board",
        draggable: ".node-card",
        animation: 120,
        forceFallback: true,  // mouse and touch alike, no native drag image quirks
        fallbackTolerance: 4,
        filter: "details, summary, a, button, input, select, textarea",
        preventOnFilter: false,
        onEnd: onDrop
      });
    });
  }

  document.addEventListener("DOMContentLoaded", initBoard);
  document.addEventListener("htmx:afterSettle", function () {
    placeCards();
    initBoard();
  });
})();
