"use strict";
// Sort and filter the sample table. Rows are only moved or hidden, never rebuilt: no HTML is
// ever written from text, so model output stays inert. "#sort=latency" (or "#sort=-latency"
// for descending) in the address sorts on load.
(function () {
  var table = document.getElementById("samples");
  if (!table) { return; }
  var body = table.tBodies[0];
  var heads = Array.prototype.slice.call(table.tHead.rows[0].cells);
  var filter = document.getElementById("filter");
  var failingOnly = document.getElementById("failing-only");
  var shown = document.getElementById("shown");

  function cellValue(row, index, numeric) {
    var cell = row.cells[index];
    if (!cell) { return numeric ? -Infinity : ""; }
    if (numeric) {
      var v = parseFloat(cell.getAttribute("data-value"));
      return isNaN(v) ? -Infinity : v;
    }
    return cell.textContent.trim().toLowerCase();
  }

  function sortBy(index, descending) {
    var numeric = heads[index].getAttribute("data-type") === "num";
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = cellValue(a, index, numeric), y = cellValue(b, index, numeric);
      var order = x < y ? -1 : x > y ? 1 : 0;
      return descending ? -order : order;
    });
    rows.forEach(function (row) { body.appendChild(row); });
    heads.forEach(function (h) { h.removeAttribute("aria-sort"); });
    heads[index].setAttribute("aria-sort", descending ? "descending" : "ascending");
    table.setAttribute("data-sorted", (descending ? "-" : "") + heads[index].getAttribute("data-col"));
  }

  function applyFilter() {
    var query = filter ? filter.value.trim().toLowerCase() : "";
    var onlyFailing = failingOnly ? failingOnly.checked : false;
    var count = 0;
    Array.prototype.forEach.call(body.rows, function (row) {
      var hit = (!query || row.textContent.toLowerCase().indexOf(query) !== -1) &&
        (!onlyFailing || row.classList.contains("failed"));
      row.hidden = !hit;
      if (hit) { count += 1; }
    });
    if (shown) { shown.textContent = String(count); }
  }

  heads.forEach(function (head, index) {
    if (!head.hasAttribute("data-col")) { return; }
    head.tabIndex = 0;
    head.addEventListener("click", function () {
      sortBy(index, head.getAttribute("aria-sort") === "ascending");
    });
  });
  if (filter) { filter.addEventListener("input", applyFilter); }
  if (failingOnly) { failingOnly.addEventListener("change", applyFilter); }

  var match = /sort=(-?)([\w.-]+)/.exec(window.location.hash);
  if (match) {
    heads.forEach(function (head, index) {
      if (head.getAttribute("data-col") === match[2]) { sortBy(index, match[1] === "-"); }
    });
  }
  applyFilter();
  document.body.setAttribute("data-ready", "1");
})();
