"use strict";
// The viewer's one script (allowed by each page's policy through its hash). Every text it puts
// on the page goes through textContent: nothing is ever parsed as HTML from a string.
//   index: sort and filter the runs (state in the address: #sort=-when&q=…&pipeline=…&status=…),
//          pick two runs and open their comparison, and, when served, show new runs live.
//   run:   clicking a row of the sample table shows the prompt that sample was sent.
(function () {
  var body = document.body;

  // ------------------------------------------------------------------ index
  function setupIndex() {
    var state = { q: "", pipeline: "", status: "", sort: "when", desc: true };
    var selected = [];
    var collator = new Intl.Collator("en", { numeric: true, sensitivity: "base" });

    var params = new URLSearchParams(window.location.hash.replace(/^#/, ""));
    var sortParam = /^(-?)(.+)$/.exec(params.get("sort") || "");
    if (sortParam) { state.sort = sortParam[2]; state.desc = sortParam[1] === "-"; }
    state.q = params.get("q") || "";
    state.pipeline = params.get("pipeline") || "";
    state.status = params.get("status") || "";

    function byId(id) { return document.getElementById(id); }
    function table() { return byId("runs"); }
    function heads() { var t = table(); return t ? Array.prototype.slice.call(t.tHead.rows[0].cells) : []; }
    function rows() { var t = table(); return t ? Array.prototype.slice.call(t.tBodies[0].rows) : []; }

    function syncControls() {
      if (byId("q") && byId("q").value !== state.q) { byId("q").value = state.q; }
      if (byId("pipeline-filter")) { byId("pipeline-filter").value = state.pipeline; }
      if (byId("status-filter")) { byId("status-filter").value = state.status; }
    }

    function sortRows() {
      var t = table();
      if (!t) { return; }
      var index = -1, numeric = false;
      heads().forEach(function (head, i) {
        head.removeAttribute("aria-sort");
        if (head.getAttribute("data-sort") === state.sort) {
          index = i;
          numeric = head.getAttribute("data-type") === "num";
          head.setAttribute("aria-sort", state.desc ? "descending" : "ascending");
        }
      });
      if (index < 0) { return; }
      var list = rows().map(function (row, position) {
        var raw = row.cells[index].getAttribute("data-v") || "";
        return { row: row, key: numeric ? parseFloat(raw) : raw, position: position };
      });
      var sign = state.desc ? -1 : 1;
      list.sort(function (a, b) {
        var c = numeric ? (a.key < b.key ? -1 : a.key > b.key ? 1 : 0) : collator.compare(a.key, b.key);
        return sign * c || a.position - b.position;
      });
      var tbody = t.tBodies[0];
      list.forEach(function (item) { tbody.appendChild(item.row); });
      t.setAttribute("data-sorted", (state.desc ? "-" : "") + state.sort);
    }

    function filterRows() {
      var query = state.q.trim().toLowerCase();
      var shown = 0;
      rows().forEach(function (row) {
        var ok = (!state.pipeline || row.getAttribute("data-pipeline") === state.pipeline) &&
          (!state.status || row.getAttribute("data-status") === state.status) &&
          (!query || row.textContent.toLowerCase().indexOf(query) !== -1);
        row.hidden = !ok;
        if (ok) { shown += 1; }
      });
      if (byId("shown")) { byId("shown").textContent = String(shown); }
      if (byId("no-match")) { byId("no-match").hidden = shown !== 0 || rows().length === 0; }
    }

    function remember() {
      var out = new URLSearchParams();
      if (state.sort !== "when" || !state.desc) { out.set("sort", (state.desc ? "-" : "") + state.sort); }
      if (state.q) { out.set("q", state.q); }
      if (state.pipeline) { out.set("pipeline", state.pipeline); }
      if (state.status) { out.set("status", state.status); }
      var text = out.toString();
      history.replaceState(null, "", text ? "#" + text : window.location.pathname + window.location.search);
    }

    function showSelection() {
      var boxes = Array.prototype.slice.call(document.querySelectorAll("input[name='run']"));
      boxes.forEach(function (box) {
        box.checked = selected.indexOf(box.value) !== -1;
        var row = box.closest("tr");
        if (row) { row.classList.toggle("selected", box.checked); }
      });
      var note = byId("compare-note"), button = byId("compare-button");
      if (button) { button.disabled = selected.length !== 2; }
      if (note) {
        note.textContent = selected.length === 2 ? "A: " + ordered()[0] + " · B: " + ordered()[1]
          : selected.length === 1 ? "select one more run" : "select two runs (A: the older, B: the newer)";
      }
    }

    function whenOf(id) {
      var found = rows().filter(function (row) { return row.getAttribute("data-run") === id; })[0];
      return found ? parseFloat(found.getAttribute("data-when")) || 0 : 0;
    }

    function ordered() {
      var pair = selected.slice(0, 2);
      pair.sort(function (a, b) { return whenOf(a) - whenOf(b) || collator.compare(a, b); });
      return pair;
    }

    function apply() { syncControls(); sortRows(); filterRows(); showSelection(); }

    document.addEventListener("click", function (event) {
      var head = event.target.closest && event.target.closest("#runs th[data-sort]");
      if (!head) { return; }
      var column = head.getAttribute("data-sort");
      state.desc = state.sort === column ? !state.desc : head.getAttribute("data-type") === "num";
      state.sort = column;
      sortRows();
      remember();
    });
    document.addEventListener("input", function (event) {
      if (event.target.id === "q") { state.q = event.target.value; filterRows(); remember(); }
    });
    document.addEventListener("change", function (event) {
      var target = event.target;
      if (target.id === "pipeline-filter") { state.pipeline = target.value; filterRows(); remember(); }
      if (target.id === "status-filter") { state.status = target.value; filterRows(); remember(); }
      if (target.name === "run") {
        selected = selected.filter(function (id) { return id !== target.value; });
        if (target.checked) { selected.push(target.value); }
        if (selected.length > 2) { selected = selected.slice(selected.length - 2); }
        showSelection();
      }
    });
    document.addEventListener("submit", function (event) {
      if (event.target.id !== "compare-form") { return; }
      event.preventDefault();
      if (selected.length !== 2) { showSelection(); return; }
      var pair = ordered();
      var target = "compare/" + encodeURIComponent(pair[0]) + "/" + encodeURIComponent(pair[1]) + ".html";
      var island = byId("exported-pairs");
      if (island && JSON.parse(island.textContent).indexOf(pair[0] + "/" + pair[1]) === -1) {
        byId("compare-note").textContent = "This export holds no comparison of these two runs (it has each run " +
          "against the previous run of its pipeline, and experiment cells against their baseline). " +
          "lm-eval-so view compares any two.";
        return;
      }
      window.location.href = target;
    });

    // Live: when served, poll a small stamp and swap in the new lists when it changes.
    function refresh() {
      fetch("index.html", { cache: "no-store" }).then(function (reply) { return reply.text(); }).then(function (text) {
        var fresh = new DOMParser().parseFromString(text, "text/html");
        ["compare-form", "pipelines-section", "experiments-section", "run-count"].forEach(function (id) {
          var old = byId(id), replacement = fresh.getElementById(id);
          if (old && replacement) {
            // Keep the filter box the user is typing in; replace the rest of the form.
            if (id === "compare-form" && byId("runs") && fresh.getElementById("runs")) {
              var tbody = byId("runs").tBodies[0];
              tbody.parentNode.replaceChild(document.importNode(fresh.getElementById("runs").tBodies[0], true), tbody);
              ["pipeline-filter", "status-filter"].forEach(function (selectId) {
                var select = byId(selectId), newer = fresh.getElementById(selectId);
                if (select && newer) { select.parentNode.replaceChild(document.importNode(newer, true), select); }
              });
            } else {
              old.parentNode.replaceChild(document.importNode(replacement, true), old);
            }
          }
        });
        body.setAttribute("data-stamp", fresh.body.getAttribute("data-stamp") || "");
        apply();
        body.setAttribute("data-refreshes", String((parseInt(body.getAttribute("data-refreshes"), 10) || 0) + 1));
      }).catch(function () { /* the server stopped: keep the page as it is */ });
    }

    function poll() {
      fetch("api/stamp", { cache: "no-store" }).then(function (reply) { return reply.json(); }).then(function (data) {
        if (data.stamp && data.stamp !== body.getAttribute("data-stamp")) { refresh(); }
      }).catch(function () { /* the server stopped */ });
    }

    apply();
    if (body.getAttribute("data-live") === "1" && window.fetch) { setInterval(poll, 1500); }
  }

  // ------------------------------------------------------------------ run page
  function setupRun() {
    var island = document.getElementById("viewer-prompts");
    var samples = document.getElementById("samples");
    if (!island || !samples) { return; }
    var data = JSON.parse(island.textContent);
    var box = document.getElementById("prompt-messages");
    var label = document.getElementById("prompt-sample");

    function element(tag, css, content) {
      var node = document.createElement(tag);
      node.className = css;
      node.textContent = content;
      return node;
    }

    function show(id) {
      var entry = data.samples[id];
      if (!entry) {
        var keys = Object.keys(data.samples).filter(function (key) { return key.indexOf(id) === 0; });
        entry = keys.length === 1 ? data.samples[keys[0]] : null;
      }
      label.textContent = "for sample " + id;
      box.textContent = "";
      if (!entry) {
        box.appendChild(element("p", "viewer-muted", "This sample's prompt is not on this page; dataset.jsonl has it."));
        return;
      }
      entry.forEach(function (message) {
        var wrap = element("div", "viewer-msg", "");
        wrap.appendChild(element("div", "viewer-role", message[0]));
        wrap.appendChild(element("div", "viewer-text", data.texts[message[1]]));
        if (message[2] > data.clip) {
          wrap.appendChild(element("div", "viewer-clip", "… [clipped: " + message[2].toLocaleString("en") +
            " characters in all; full text in dataset.jsonl]"));
        }
        box.appendChild(wrap);
      });
    }

    function pick(row, scroll) {
      var first = row.cells[0].firstChild;
      var id = first && first.nodeType === 3 ? first.nodeValue : row.cells[0].textContent;
      Array.prototype.forEach.call(samples.querySelectorAll("tr.viewer-picked"), function (tr) {
        tr.classList.remove("viewer-picked");
      });
      row.classList.add("viewer-picked");
      show(id);
      if (scroll) { document.getElementById("viewer-run").scrollIntoView({ block: "start" }); }
    }

    samples.addEventListener("click", function (event) {
      var row = event.target.closest && event.target.closest("tbody tr");
      if (row && row.cells.length) { pick(row, true); }
    });
    // The panel starts on the table's first row (failing rows come first).
    var firstRow = samples.tBodies.length ? samples.tBodies[0].rows[0] : null;
    if (firstRow && firstRow.cells.length) { pick(firstRow, false); }
  }

  var page = body.getAttribute("data-page");
  if (page === "index") { setupIndex(); }
  if (page === "run") { setupRun(); }
  body.setAttribute("data-viewer-ready", "1");
})();
