// Live queue: listen to /events (server-sent events); on a change, update the count in the title
// and the badge, and on the queue page fetch the fresh rows. Without JavaScript the page is simply static.
(function () {
  "use strict";
  if (!window.EventSource) return;

  var table = document.getElementById("queue-table");
  var body = document.getElementById("queue-rows");
  var badge = document.getElementById("queue-count");
  var refreshing = false;
  var again = false;

  function showCount(count) {
    var title = document.title.replace(/^\(\d+\) /, "");
    document.title = count > 0 ? "(" + count + ") " + title : title;
    if (badge) {
      badge.textContent = count > 0 ? String(count) : "";
      badge.setAttribute("data-count", String(count));
    }
  }

  // The sentence above the queue: "3 calls waiting." (and how many the filters show).
  function describe(count) {
    var total = document.getElementById("queue-total");
    if (!total) return;
    var matching = total.getAttribute("data-matching") || "0";
    var text = count === 0 ? "Nothing is waiting for you." : count + (count === 1 ? " call" : " calls") + " waiting";
    if (count > 0 && total.getAttribute("data-filtered") === "yes") text += ", " + matching + " match";
    total.textContent = count > 0 ? text + "." : text;
  }

  function known() {
    var ids = {};
    document.querySelectorAll(".queue-row").forEach(function (row) { ids[row.getAttribute("data-call-id")] = true; });
    return ids;
  }

  function refreshRows() {
    if (!table || !body) return;
    if (refreshing) { again = true; return; }
    refreshing = true;
    var before = known();
    fetch(table.getAttribute("data-rows-url"), { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (response) {
        if (response.status === 401) { window.location.reload(); throw new Error("signed out"); }
        if (!response.ok) throw new Error("HTTP " + response.status);
        var count = response.headers.get("X-Queue-Count");
        if (count !== null) showCount(parseInt(count, 10));
        var matching = response.headers.get("X-Queue-Matching");
        var total = document.getElementById("queue-total");
        if (matching !== null && total) total.setAttribute("data-matching", matching);
        return response.text();
      })
      .then(function (html) {
        // Read the selection now, not before the fetch: the reviewer may have moved it meanwhile.
        var selected = document.querySelector(".queue-row.selected");
        var selectedId = selected ? selected.getAttribute("data-call-id") : null;
        // Replacing the rows would drop keyboard focus to the page's start: give it back to the same call.
        var focused = body.contains(document.activeElement) ? document.activeElement.closest(".queue-row") : null;
        var focusedId = focused ? focused.getAttribute("data-call-id") : null;
        // Rendered and escaped by the server's templates, from our own origin.
        body.innerHTML = html;
        document.querySelectorAll(".queue-row").forEach(function (row) {
          var id = row.getAttribute("data-call-id");
          if (!before[id]) row.classList.add("fresh");
          if (id === selectedId) row.classList.add("selected");
          var link = row.querySelector(".call-link");
          if (id === focusedId && link) link.focus({ preventScroll: true });
        });
        describe(parseInt(badge ? badge.getAttribute("data-count") || "0" : "0", 10));
        if (window.Countersign) window.Countersign.tick();
      })
      .catch(function () { /* the next event retries */ })
      .then(function () {
        refreshing = false;
        if (again) { again = false; refreshRows(); }
      });
  }

  var source = new EventSource("/events");
  source.addEventListener("queue", function (event) {
    var data = JSON.parse(event.data);
    showCount(data.count);
    refreshRows();
  });
  source.addEventListener("error", function () {
    // EventSource reconnects by itself; once closed for good (signed out), stop quietly.
    if (source.readyState === EventSource.CLOSED) source.close();
  });
  window.addEventListener("pagehide", function () { source.close(); });
})();
