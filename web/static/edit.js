// Edit page: show the changes as a diff while typing (the server shows the authoritative diff
// and the new verdict before anything is approved). Values are inserted as text, never as HTML.
(function () {
  "use strict";
  var form = document.getElementById("edit-form");
  var box = document.getElementById("live-diff");
  var rows = document.getElementById("live-diff-rows");
  if (!form || !box || !rows) return;

  function cell(tag, text, cls) {
    var el = document.createElement(tag);
    el.textContent = text;
    if (cls) el.className = cls;
    return el;
  }

  function update() {
    rows.textContent = "";
    var changed = 0;
    form.querySelectorAll(".field").forEach(function (field) {
      var input = field.querySelector("[name^='arg.']");
      if (!input) return;
      var before = input.getAttribute("data-original") || "";
      var after = input.value;
      var differs = before !== after;
      field.classList.toggle("changed", differs);
      if (!differs) return;
      changed += 1;
      var tr = document.createElement("tr");
      tr.appendChild(cell("th", field.getAttribute("data-field")));
      tr.appendChild(cell("td", before === "" ? "(empty)" : before, "del"));
      tr.appendChild(cell("td", after === "" ? "(empty)" : after, "ins"));
      rows.appendChild(tr);
    });
    box.hidden = changed === 0;
  }

  form.addEventListener("input", update);
  form.addEventListener("change", update);
  update();
})();
