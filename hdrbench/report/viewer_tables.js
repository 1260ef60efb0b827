/* hdrbench result viewer, score tables: the report's tables (D.tables: mean, bootstrap interval and paired test
 * in each cell's title), the per-image scores of a test set and metric (D.scores), and the scores of the image
 * shown; every table sorts by a click on a column header. Loaded before viewer.js, which calls
 * hdrViewerParts.tables(core) with what it shares (see there).
 */
(function (parts) {
  "use strict";

  function fmt(v, decimals) {
    return v === null || v === undefined || Number.isNaN(v) ? "—" : Number(v).toFixed(decimals);
  }

  function fmtP(p) {
    if (p === null || p === undefined) return "—";
    return p < 1e-4 ? p.toExponential(1) : p.toFixed(4);
  }

  function fmtParams(n) {
    if (n === null || n === undefined) return "—";
    return n >= 1e5 ? (n / 1e6).toFixed(1) + "M" : (n / 1e3).toFixed(1) + "K";
  }

  parts.tables = function (core) {
    const {D, $, el, state} = core;

    function sortable(table) {
      const heads = table.querySelectorAll("th.sortable");
      heads.forEach((th) => th.addEventListener("click", () => {
        const col = Number(th.dataset.col), text = th.dataset.order === "text";
        const lower = th.dataset.order === "lower";
        const current = th.getAttribute("aria-sort");
        let asc = text || lower;  // first click: best first (or A→Z)
        if (current) asc = current !== "ascending";
        heads.forEach((h) => h.removeAttribute("aria-sort"));
        th.setAttribute("aria-sort", asc ? "ascending" : "descending");
        const body = table.tBodies[0], rows = Array.from(body.rows);
        const key = (r) => {
          const c = r.cells[col];
          if (text) return c.textContent;
          const v = parseFloat(c.dataset.v);
          return Number.isNaN(v) ? null : v;
        };
        rows.sort((r1, r2) => {
          const a = key(r1), b = key(r2);
          if (a === null || b === null) return (a === null) - (b === null);  // missing values last
          const d = text ? a.localeCompare(b) : a - b;
          return asc ? d : -d;
        });
        body.append(...rows);
      }));
    }

    function header(label, col, order, extra) {
      return el("th", Object.assign({class: "sortable" + (order === "text" ? " label" : ""), "data-col": col,
        "data-order": order, title: "sort"}, extra || {}), label);
    }

    function reportTable(t) {
      const sets = [];
      for (const c of t.columns) if (!sets.length || sets[sets.length - 1].name !== c.test_set) {
        sets.push({name: c.test_set, span: 0});
      }
      t.columns.forEach((c) => { sets.find((s) => s.name === c.test_set).span++; });
      const top = el("tr", {}, el("th", {class: "label"}),
        ...sets.map((s) => el("th", {colspan: s.span, text: s.name})), t.params ? el("th") : null);
      const second = el("tr", {}, header("Method", 0, "text"),
        ...t.columns.map((c, i) => header(c.metric + (c.lower_better ? "↓" : "↑"), i + 1,
          c.lower_better ? "lower" : "higher")),
        t.params ? header("Params↓", t.columns.length + 1, "lower") : null);
      const conf = Math.round(100 * D.confidence);
      const label = Object.fromEntries(t.methods.map((m) => [m.id, m.label]));
      const body = el("tbody", {}, ...t.methods.map((m) => el("tr", {"data-method": m.id},
        el("td", {class: "label", text: m.label}),
        ...t.columns.map((c) => {
          const v = c.cells[m.id];
          if (!v) return el("td", {text: "—"});
          const tip = `${c.metric} (${c.test_set}), ${m.label}: mean ${fmt(v.mean, c.decimals + 2)} over ` +
            `${v.n_images} images\n${conf}% bootstrap interval [${fmt(v.ci_low, c.decimals + 2)}, ` +
            `${fmt(v.ci_high, c.decimals + 2)}]\n` + (v.best === m.id ? "best of this column" :
            `${v.test} p = ${fmtP(v.p_vs_best)} against the best (${label[v.best] || v.best})`);
          return el("td", {class: v.rank <= 3 ? "rank-" + v.rank : null, "data-v": v.mean, title: tip,
            text: fmt(v.mean, c.decimals)});
        }),
        t.params ? el("td", {"data-v": m.params === null ? "" : m.params, text: fmtParams(m.params)}) : null)));
      const table = el("table", {class: "report", "data-table": t.name}, el("thead", {}, top, second), body);
      sortable(table);
      return el("div", {}, el("h3", {text: t.title}), table);
    }

    /* ---------- per-image scores ---------- */
    function ranks(values, lowerBetter) {  // method -> rank (1 = best), direction-aware, ties share the best rank
      const v = Object.entries(values).filter(([, x]) => x !== null && !Number.isNaN(x));
      const out = {};
      for (const [m, x] of v) {
        out[m] = 1 + v.filter(([, y]) => (lowerBetter ? y < x : y > x)).length;
      }
      return out;
    }

    function metricInfo(id) { return D.scores.metrics.find((m) => m.id === id); }

    function perImageTable() {
      const ts = $("ps-set").value, metric = metricInfo($("ps-metric").value), holder = $("ps-table");
      holder.textContent = "";
      if (!metric) return;
      const byImage = ((D.scores.values[ts] || {})[metric.id]) || {};
      const methods = D.scores.methods, shown = new Set(D.images.map((im) => im.test_set + "/" + im.id));
      const order = metric.lower_better ? "lower" : "higher";
      const head = el("tr", {}, header("Image", 0, "text"),
        ...methods.map((m, i) => header(m.label, i + 1, order)));
      const rows = Object.keys(byImage).sort().map((image) => {
        const r = ranks(byImage[image], metric.lower_better);
        const index = D.images.findIndex((im) => im.id === image && im.test_set === ts);
        return el("tr", {class: shown.has(ts + "/" + image) ? "clickable" : null, "data-image": image,
          title: index >= 0 ? "show in the image view" : null,
          onclick: index >= 0 ? () => {
            $("image").value = index; core.showImage(index); $("compare").scrollIntoView();
          } : null},
        el("td", {class: "label", text: image}),
        ...methods.map((m) => {
          const v = byImage[image][m.id];
          return el("td", {class: r[m.id] <= 3 ? "rank-" + r[m.id] : null, "data-v": v === undefined ? "" : v,
            text: fmt(v, metric.decimals)});
        }));
      });
      const caption = `${metric.label}${metric.lower_better ? "↓" : "↑"} per image (colours rank each row)`;
      const table = el("table", {class: "per-image"}, el("caption", {text: caption}),
        el("thead", {}, head), el("tbody", {}, ...rows));
      sortable(table);
      holder.append(table);
    }

    function imageScores() {
      const img = D.images[state.image], holder = $("image-scores");
      holder.textContent = "";
      const metrics = D.scores.metrics;
      const methods = img.panels.filter((p) => p.kind === "pred");
      if (!metrics.length || !methods.length) return;
      const values = (m, metric) => {
        const x = (((D.scores.values[img.test_set] || {})[metric.id] || {})[img.id] || {})[m];
        return x === undefined ? null : x;
      };
      const r = metrics.map((metric) => ranks(Object.fromEntries(methods.map((p) => [p.method,
        values(p.method, metric)])), metric.lower_better));
      holder.append(el("table", {class: "image-scores"},
        el("thead", {}, el("tr", {}, el("th", {class: "label", text: img.id}),
          ...metrics.map((m) => el("th", {text: m.label + (m.lower_better ? "↓" : "↑")})))),
        el("tbody", {}, ...methods.map((p) => el("tr", {},
          el("td", {class: "label", text: p.title}),
          ...metrics.map((metric, i) => el("td", {class: r[i][p.method] <= 3 ? "rank-" + r[i][p.method] : null,
            text: fmt(values(p.method, metric), metric.decimals)})))))));
    }

    function build() {  // the report's tables and the per-image table with its selects
      $("table-list").append(...D.tables.map(reportTable));
      $("ps-set").replaceChildren(...D.scores.test_sets.map((t) => el("option", {value: t.id, text: t.label})));
      $("ps-metric").replaceChildren(...D.scores.metrics.map((m) => el("option", {value: m.id, text: m.label})));
      if (D.images.length) $("ps-set").value = D.images[0].test_set;
      $("ps-set").addEventListener("change", perImageTable);
      $("ps-metric").addEventListener("change", perImageTable);
      perImageTable();
    }

    return {build, imageScores};
  };
})(window.hdrViewerParts = window.hdrViewerParts || {});
