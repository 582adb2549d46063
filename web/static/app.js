// Countersign pages: keyboard shortcuts, clickable queue rows, ticking SLA countdowns.
// Progressive enhancement only: every action also works with plain links and forms.
(function () {
  "use strict";

  // --- phones: tables become cards (app.css); each cell shows its column's name --------------
  function labelCells(root) {
    Array.prototype.forEach.call((root || document).querySelectorAll("table.queue, table.plain"), function (table) {
      var names = Array.prototype.map.call(table.querySelectorAll("thead th"), function (th) {
        return th.textContent.trim();
      });
      if (!names.length) return;
      Array.prototype.forEach.call(table.querySelectorAll("tbody tr"), function (row) {
        Array.prototype.forEach.call(row.children, function (cell, i) {
          if (names[i] && cell.colSpan === 1 && !cell.hasAttribute("data-label")) {
            cell.setAttribute("data-label", names[i]);
          }
        });
      });
    });
  }
  labelCells(document);
  new MutationObserver(function () { labelCells(document); })
    .observe(document.body || document.documentElement, { childList: true, subtree: true });

  function typing(target) {
    if (!target || !target.tagName) return false;
    var tag = target.tagName.toLowerCase();
    return tag === "input" || tag === "textarea" || tag === "select" || target.isContentEditable;
  }

  function go(selector) {
    var link = document.querySelector(selector);
    if (link && link.href) { window.location.assign(link.href); return true; }
    return false;
  }

  function flash(element) {
    element.classList.add("flash");
    window.setTimeout(function () { element.classList.remove("flash"); }, 1200);
  }

  // --- the queue: j/k move the selection, Enter or o opens it, n opens the first call ---------
  function rows() { return Array.prototype.slice.call(document.querySelectorAll(".queue-row")); }

  function select(index) {
    var all = rows();
    if (!all.length) return;
    index = Math.max(0, Math.min(index, all.length - 1));
    all.forEach(function (row, i) { row.classList.toggle("selected", i === index); });
    all[index].scrollIntoView({ block: "nearest" });
    var link = all[index].querySelector(".call-link");
    if (link) link.focus({ preventScroll: true });
  }

  function selectedIndex() {
    return rows().findIndex(function (row) { return row.classList.contains("selected"); });
  }

  function openSelected() {
    var all = rows();
    var row = all[Math.max(selectedIndex(), 0)];
    if (row) window.location.assign(row.getAttribute("data-href"));
  }

  // --- the packet: a focuses Approve (Enter confirms), r the rejection reason ------------------
  function approve() {
    var override = document.getElementById("override-reason");
    if (override && !override.value.trim()) { override.focus(); flash(override); return; }
    var button = document.getElementById("approve-button") || document.getElementById("confirm-approve");
    if (button) { button.focus(); flash(button); }
  }

  function reject() {
    var reason = document.getElementById("reject-reason");
    if (reason) { reason.focus(); flash(reason); }
  }

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.key === "Escape" && typing(event.target)) { event.target.blur(); return; }
    if (typing(event.target)) return;
    var onQueue = document.body.classList.contains("page-queue");
    var handled = true;
    switch (event.key) {
      case "j": if (onQueue) select(selectedIndex() + 1); else handled = go("#next-call"); break;
      case "k": if (onQueue) select(selectedIndex() - 1); else handled = go("#prev-call"); break;
      case "n": if (onQueue) openSelected(); else handled = go("#next-call") || go("#next-after-outcome"); break;
      case "o": case "Enter": if (onQueue && selectedIndex() >= 0) openSelected(); else handled = false; break;
      case "a": approve(); break;
      case "r": reject(); break;
      case "e": handled = go("#edit-link"); break;
      case "g": case "u": handled = go("#back-to-queue") || go(".brand"); break;
      default: handled = false;
    }
    if (handled) event.preventDefault();
  });

  // Whole queue rows are clickable (the summary link stays the accessible target).
  document.addEventListener("click", function (event) {
    var row = event.target.closest ? event.target.closest(".queue-row") : null;
    if (!row || event.target.closest("a, button, input, select, textarea")) return;
    window.location.assign(row.getAttribute("data-href"));
  });

  // --- SLA countdowns tick without a reload ---------------------------------------------------
  function duration(seconds) {
    seconds = Math.abs(seconds);
    if (seconds < 60) return Math.floor(seconds) + " s";
    var minutes = Math.floor(seconds / 60);
    if (minutes < 60) return minutes + " min";
    var hours = Math.floor(minutes / 60);
    minutes = minutes % 60;
    if (hours < 48) return hours + " h " + (minutes < 10 ? "0" : "") + minutes + " min";
    return Math.floor(hours / 24) + " d " + (hours % 24) + " h";
  }

  function tick() {
    var now = Date.now();
    document.querySelectorAll(".sla[data-due]").forEach(function (el) {
      var due = Date.parse(el.getAttribute("data-due"));
      if (isNaN(due)) return;
      var left = (due - now) / 1000;
      el.textContent = left < 0 ? "overdue " + duration(left) : duration(left) + " left";
      el.classList.toggle("sla-over", left < 0);
      el.classList.toggle("sla-soon", left >= 0 && left < 3600);
      el.classList.toggle("sla-ok", left >= 3600);
    });
  }

  window.Countersign = { tick: tick };
  window.setInterval(tick, 30000);
})();
