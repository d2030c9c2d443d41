"use strict";
// The sample table, a page at a time. Every row is in the page's JSON data island
// (the element #sample-data, of type application/json, failing rows first); search, "failing
// only" and sorting work on all of them, and only one page of rows is ever in the document.
// Cells are built with createElement and textContent: no text is ever parsed as HTML, so model
// output stays inert. The address can set the view on load: "#sort=latency" ("#sort=-latency"
// descending), "#q=some text", "#failing=1", "#page=2".
(function () {
  var table = document.getElementById("samples");
  var island = document.getElementById("sample-data");
  if (!table || !island) { document.body.setAttribute("data-ready", "1"); return; }

  // One row of the island (see html_report.py): [id, repeat, flags, input, expected, output,
  // error, latency_ms, cost_usd, scores]; a text is a string or [clipped text, full length].
  var ID = 0, REPEAT = 1, FLAGS = 2, INPUT = 3, EXPECTED = 4, OUTPUT = 5, ERROR = 6;
  var LATENCY = 7, COST = 8, SCORES = 9, FAILED = 1, CACHED = 2;

  var rows = JSON.parse(island.textContent);
  var body = table.tBodies[0];
  var heads = Array.prototype.slice.call(table.tHead.rows[0].cells);
  var filter = document.getElementById("filter");
  var failingOnly = document.getElementById("failing-only");
  var shown = document.getElementById("shown");
  var pagers = Array.prototype.slice.call(document.querySelectorAll(".pager"));
  var pageSizeBox = document.getElementById("page-size");
  var noJsNote = document.getElementById("nojs-note");
  var clipMarker = table.getAttribute("data-clip-marker") || "";
  var moreMarker = table.getAttribute("data-more-marker") || "";
  var collator = new Intl.Collator("en", { numeric: true, sensitivity: "base" });

  var state = { query: "", failing: false, col: -1, desc: false, page: 0,
                size: parseInt(table.getAttribute("data-page-size"), 10) || 100 };
  var sorted = null;    // all row indices in the current sort order (null: island order)
  var order = [];       // the indices that match the search, in display order
  var haystack = null;  // lower-cased searchable text of each row, built on the first search

  function text(value) { return value === null ? "" : typeof value === "string" ? value : value[0]; }

  function grouped(n) { return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ","); }

  // As Python's fixed() in html_report.py: toFixed rounding, thousands commas.
  function fixed(value, places, trim) {
    var s = value.toFixed(places);
    var parts = s.split(".");
    s = grouped(parts[0]) + (parts.length > 1 ? "." + parts[1] : "");
    return trim && s.indexOf(".") !== -1 ? s.replace(/\.?0+$/, "") : s;
  }

  // As Python's common.text.usd(): four decimals, or two significant digits for a cost
  // above zero that four decimals would show as free.
  function usd(value) {
    if (value > 0 && Math.round(value * 1e4) === 0) {
      return "$" + value.toFixed(1 - Math.floor(Math.log10(value)));
    }
    return "$" + value.toFixed(4);
  }

  function element(tag, css, content) {
    var node = document.createElement(tag);
    if (css) { node.className = css; }
    if (content !== undefined) { node.textContent = content; }
    return node;
  }

  function clipNote(full) { return element("div", "clip", clipMarker.replace("{n}", grouped(full))); }

  // A text in its scrolling box; a clipped one is followed by the marker, outside the box.
  function addText(td, value, css) {
    td.appendChild(element("div", css, text(value)));
    if (value !== null && typeof value !== "string") { td.appendChild(clipNote(value[1])); }
  }

  function scoreCell(score) {
    if (score === null) { return element("td", "num neutral", "-"); }
    var number = score[0] === null ? "nan" : fixed(score[0], 3, true);
    if (score[1] === null) { return element("td", "num neutral", number); }
    return element("td", "num " + (score[1] ? "pass" : "fail"), (score[1] ? "✓ " : "✗ ") + number);
  }

  function renderRow(row) {
    var tr = document.createElement("tr");
    if (row[FLAGS] & FAILED) { tr.className = "failed"; }
    heads.forEach(function (head) {
      var field = parseInt(head.getAttribute("data-field"), 10);
      var td;
      if (field === ID) {
        td = element("td", "", text(row[ID]));
        if (typeof row[ID] !== "string") { td.appendChild(clipNote(row[ID][1])); }
        if (row[FLAGS] & CACHED) {
          var badge = element("span", "badge cached small", "cached");
          badge.title = "replayed from the response cache";
          td.appendChild(badge);
        }
      } else if (field === REPEAT) {
        td = element("td", "num", String(row[REPEAT]));
      } else if (field === INPUT) {
        td = element("td");
        addText(td, row[INPUT], "text");
      } else if (field === EXPECTED) {
        td = element("td");
        if (!row[EXPECTED].length) { td.appendChild(element("span", "muted", "-")); }
        row[EXPECTED].forEach(function (item) {
          if (typeof item === "number") {
            td.appendChild(element("div", "clip", moreMarker.replace("{n}", grouped(item))));
          } else {
            addText(td, item, "text");
          }
        });
      } else if (field === OUTPUT) {
        td = element("td");
        addText(td, row[ERROR] !== null ? row[ERROR] : row[OUTPUT], row[ERROR] !== null ? "text error" : "text");
      } else if (field === SCORES) {
        td = scoreCell(row[SCORES][parseInt(head.getAttribute("data-score"), 10)]);
      } else if (field === LATENCY) {
        td = element("td", "num muted", row[LATENCY] === null ? "-" : fixed(row[LATENCY], 0) + " ms");
      } else if (field === COST) {
        td = element("td", "num muted", row[COST] === null ? "-" : usd(row[COST]));
      } else {
        td = element("td");
      }
      tr.appendChild(td);
    });
    return tr;
  }

  function sortKey(head) {
    var field = parseInt(head.getAttribute("data-field"), 10);
    if (head.getAttribute("data-type") !== "num") {
      return function (row) {
        return field === OUTPUT && row[ERROR] !== null ? text(row[ERROR]) : text(row[field]);
      };
    }
    if (field === SCORES) {
      var index = parseInt(head.getAttribute("data-score"), 10);
      return function (row) {
        var score = row[SCORES][index];
        return score === null || score[0] === null ? -Infinity : score[0];
      };
    }
    return function (row) { return row[field] === null ? -Infinity : row[field]; };
  }

  function sortRows() {
    if (state.col < 0) { sorted = null; return; }
    var head = heads[state.col];
    var key = sortKey(head);
    var numeric = head.getAttribute("data-type") === "num";
    var keys = rows.map(key);
    var sign = state.desc ? -1 : 1;
    sorted = rows.map(function (_, index) { return index; });
    sorted.sort(function (a, b) {
      var x = keys[a], y = keys[b];
      var c = numeric ? (x < y ? -1 : x > y ? 1 : 0) : collator.compare(x, y);
      return sign * c || a - b;
    });
    heads.forEach(function (h) { h.removeAttribute("aria-sort"); });
    head.setAttribute("aria-sort", state.desc ? "descending" : "ascending");
    table.setAttribute("data-sorted", (state.desc ? "-" : "") + head.getAttribute("data-col"));
  }

  function searchable(row) {
    var parts = [text(row[ID]), text(row[INPUT]), text(row[OUTPUT]), text(row[ERROR])];
    row[EXPECTED].forEach(function (item) { if (typeof item !== "number") { parts.push(text(item)); } });
    return parts.join("\n").toLowerCase();
  }

  function match() {
    var query = state.query.trim().toLowerCase();
    if (query && !haystack) { haystack = rows.map(searchable); }
    order = [];
    for (var i = 0; i < rows.length; i += 1) {
      var index = sorted ? sorted[i] : i;
      if (state.failing && !(rows[index][FLAGS] & FAILED)) { continue; }
      if (query && haystack[index].indexOf(query) === -1) { continue; }
      order.push(index);
    }
  }

  function render() {
    var pages = Math.max(1, Math.ceil(order.length / state.size));
    state.page = Math.min(Math.max(0, state.page), pages - 1);
    var start = state.page * state.size;
    var end = Math.min(order.length, start + state.size);
    var fragment = document.createDocumentFragment();
    for (var i = start; i < end; i += 1) { fragment.appendChild(renderRow(rows[order[i]])); }
    body.textContent = "";
    body.appendChild(fragment);
    if (shown) {
      shown.textContent = order.length === rows.length ? grouped(rows.length)
        : grouped(order.length) + " of " + grouped(rows.length);
    }
    var label = "page " + grouped(state.page + 1) + " of " + grouped(pages) +
      (order.length ? " (rows " + grouped(start + 1) + "–" + grouped(end) + ")" : "");
    pagers.forEach(function (pager) {
      pager.hidden = false;
      pager.querySelector(".page-label").textContent = label;
      pager.querySelector('[data-step="-1"]').disabled = state.page === 0;
      pager.querySelector('[data-step="1"]').disabled = state.page >= pages - 1;
    });
    table.setAttribute("data-page", String(state.page + 1));
  }

  function refresh() { match(); render(); }

  heads.forEach(function (head, index) {
    if (!head.hasAttribute("data-col")) { return; }
    head.tabIndex = 0;
    function sortHere() {
      state.desc = state.col === index && !state.desc;
      state.col = index;
      state.page = 0;
      sortRows();
      refresh();
    }
    head.addEventListener("click", sortHere);
    head.addEventListener("keydown", function (event) {
      if (event.key === "Enter" || event.key === " ") { event.preventDefault(); sortHere(); }
    });
  });
  var pending = null;
  if (filter) {
    filter.addEventListener("input", function () {
      if (pending !== null) { clearTimeout(pending); }
      pending = setTimeout(function () {
        pending = null;
        state.query = filter.value;
        state.page = 0;
        refresh();
      }, rows.length > 20000 ? 200 : 50);
    });
  }
  if (failingOnly) {
    failingOnly.addEventListener("change", function () {
      state.failing = failingOnly.checked;
      state.page = 0;
      refresh();
    });
  }
  pagers.forEach(function (pager) {
    Array.prototype.forEach.call(pager.querySelectorAll("[data-step]"), function (button) {
      button.addEventListener("click", function () {
        state.page += parseInt(button.getAttribute("data-step"), 10);
        render();
        // From the pager under the table, go back up to the new page's first row.
        if (table.getBoundingClientRect().top < 0) { table.scrollIntoView(); }
      });
    });
  });
  if (pageSizeBox) {
    pageSizeBox.addEventListener("change", function () {
      var first = state.page * state.size;
      state.size = parseInt(pageSizeBox.value, 10) || state.size;
      state.page = Math.floor(first / state.size);
      render();
    });
  }

  var params = new URLSearchParams(window.location.hash.replace(/^#/, ""));
  var sortParam = /^(-?)(.+)$/.exec(params.get("sort") || "");
  if (sortParam) {
    heads.forEach(function (head, index) {
      if (head.getAttribute("data-col") === sortParam[2]) {
        state.col = index;
        state.desc = sortParam[1] === "-";
      }
    });
    sortRows();
  }
  if (params.get("q")) { state.query = params.get("q"); if (filter) { filter.value = state.query; } }
  if (params.get("failing") === "1") { state.failing = true; if (failingOnly) { failingOnly.checked = true; } }
  state.page = (parseInt(params.get("page"), 10) || 1) - 1;
  if (noJsNote) { noJsNote.hidden = true; }
  // Rows the page had no room for: say so above the search box, not only under the table.
  var omitted = document.getElementById("omitted");
  var controls = document.querySelector(".controls");
  if (omitted && controls) { controls.parentNode.insertBefore(omitted, controls); }
  refresh();
  document.body.setAttribute("data-ready", "1");
})();
