/* hdrbench result viewer: plain JavaScript, no dependencies, nothing loaded from the network.
 *
 * Data: window.HDR_VIEWER_DATA (viewer/data.js); the pixels of image n come from viewer/img-<n>.js, which calls
 * hdrViewerImage(n, base64): gzip-compressed half floats, byte-planar (all low bytes, then all high bytes), panel
 * after panel, each (height, width, 3) row-major. Tone mapping runs on the decoded float values (Float32Array):
 * display = curve(value * 2^EV), curve = linear | gamma 2.2 | PU21, then 8 bits for the canvas; or a named tone
 * mapper (hdrbench.report.tonemappers), see "named tone mappers" below.
 */
(function () {
  "use strict";
  const D = window.HDR_VIEWER_DATA;
  const $ = (id) => document.getElementById(id);
  const ERR_MAX = 0.25;  // error-map colour scale: display-value difference shown at full colour
  const RAMP = [[0, 0, 4], [87, 16, 110], [188, 55, 84], [249, 142, 9], [252, 255, 164]];
  // PU21 banding_glare parameters (Mantiuk & Azimi 2021), as hdrbench.metrics.transforms.PU21_BANDING_GLARE
  const PU = [0.0, 0.353487901, 0.3734658629, 8.277049286e-05, 0.9062562627, 0.09150303166, 0.9099517204,
    596.3148142];
  const PU_PEAK = 4000;  // cd/m² of display value 1 (after exposure) for the PU21 curve

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "class") node.className = v;
      else if (k === "text") node.textContent = v;
      else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
      else node.setAttribute(k, v === true ? "" : v);
    }
    for (const c of children) if (c !== null && c !== undefined) node.append(c);
    return node;
  }

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

  /* ---------- half floats ---------- */
  const HALF = (function () {
    const t = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) {
      const s = h & 0x8000 ? -1 : 1, e = (h >> 10) & 0x1f, f = h & 0x3ff;
      if (e === 0) t[h] = s * f * Math.pow(2, -24);
      else if (e === 31) t[h] = f ? NaN : s * Infinity;
      else t[h] = s * Math.pow(2, e - 15) * (1 + f / 1024);
    }
    return t;
  })();

  async function decodeBytes(b64) {
    const bin = atob(b64);
    const packed = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) packed[i] = bin.charCodeAt(i);
    const stream = new Blob([packed]).stream().pipeThrough(new DecompressionStream("gzip"));
    return new Uint8Array(await new Response(stream).arrayBuffer());
  }

  async function decodePixels(b64) {
    const bytes = await decodeBytes(b64);
    const n = bytes.length >> 1, out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = HALF[bytes[i] | (bytes[n + i] << 8)];
    return out;
  }

  const waiting = {};
  window.hdrViewerImage = function (index, b64) {
    if (waiting[index]) waiting[index](b64);
  };

  const loaded = {};  // image index -> Promise<Float32Array>
  function pixels(index) {
    if (!loaded[index]) {
      loaded[index] = new Promise((resolve, reject) => {
        waiting[index] = (b64) => decodePixels(b64).then(resolve, reject);
        const s = el("script", {src: "viewer/" + D.images[index].file});
        s.onerror = () => reject(new Error("cannot read viewer/" + D.images[index].file));
        document.body.append(s);
      });
    }
    return loaded[index];
  }

  /* ---------- tone curves (display value in [0, 1] from a linear value times the exposure gain) ---------- */
  function pu21(L) {
    const y = Math.pow(Math.min(Math.max(L, 0.005), 10000), PU[4]);
    return PU[7] * (Math.pow((PU[1] + PU[2] * y) / (1 + PU[3] * y), PU[5]) - PU[6]);
  }
  const PU_LO = pu21(0.005), PU_HI = pu21(PU_PEAK);
  const CURVES = {
    linear: (v) => (v <= 0 ? 0 : v >= 1 ? 1 : v),
    gamma: (v) => (v <= 0 ? 0 : v >= 1 ? 1 : Math.pow(v, 1 / 2.2)),
    pu21: (v) => (v <= 0 ? 0 : v >= 1 ? 1 : (pu21(v * PU_PEAK) - PU_LO) / (PU_HI - PU_LO)),
  };

  /* ---------- named tone mappers (hdrbench.report.tonemappers; option values "tmo:<name>") ----------
   * Global ones are computed here from the decoded floats, the operator's parameters (D.tonemappers) and the
   * image's ground-truth statistics (D.images[n].tonemap[name]), as tonemappers.py does; a precomputed (local) one
   * comes as 8-bit display values from viewer/img-<n>-<name>.js. The exposure slider does not apply to them. */
  const LUM = [0.2126, 0.7152, 0.0722];
  const clip01 = (v) => (v <= 0 ? 0 : v >= 1 ? 1 : v);
  const TMO_CURVES = {  // (r, g, b >= 0, params, stats) -> [r, g, b] linear display values
    "p99-gamma": (r, g, b, p, st) => [r / st.p99, g / st.p99, b / st.p99],
    "reinhard-global": (r, g, b, p, st) => {
      const L = LUM[0] * r + LUM[1] * g + LUM[2] * b;
      if (L <= 0) return [0, 0, 0];
      const Ls = (p.key * L) / st.Lwa, f = (Ls * (1 + Ls / (st.Lwhite * st.Lwhite))) / (1 + Ls) / L;
      return [r * f, g * f, b * f];
    },
    "drago": (r, g, b, p, st) => {
      const L = LUM[0] * r + LUM[1] * g + LUM[2] * b;
      if (L <= 0) return [0, 0, 0];
      const lwa = st.Lwa / Math.pow(1 + p.bias - 0.85, 5), ls = L / lwa, lmax = st.Lmax / lwa;
      const c1 = Math.log(p.bias) / Math.log(0.5);
      const f = ((p.Ld_max / 100) / Math.log10(1 + lmax)) * Math.log1p(ls)
        / Math.log(2 + 8 * Math.pow(ls / lmax, c1)) / L;
      return [r * f, g * f, b * f];
    },
    "mu-law": (r, g, b, p, st) => [r, g, b].map((v) => Math.log1p(p.mu * Math.tanh(v / st.p99)) / Math.log1p(p.mu)),
  };
  const TMO_ENCODE = {
    "p99-gamma": (v, p) => Math.pow(clip01(v), 1 / p.gamma),
    "reinhard-global": (v, p) => Math.pow(clip01(v), 1 / p.gamma),
    "drago": (v, p) => clip01(v <= 0.018 ? 4.5 * Math.max(v, 0) : 1.099 * Math.pow(v, 0.9 / p.gamma) - 0.099),
    "mu-law": (v) => clip01(v),
  };
  const precomputed = {};  // "n/name" -> Promise<Uint8Array>, display bytes of every panel of image n
  window.hdrViewerTonemapped = function (index, name, b64) {
    const w = waiting[index + "/" + name];
    if (w) w(b64);
  };
  function tmoInfo(tone) {
    return tone.startsWith("tmo:") ? D.tonemappers.find((t) => "tmo:" + t.name === tone) || null : null;
  }
  function loadPrecomputed(index, name) {
    const key = index + "/" + name;
    if (!precomputed[key]) {
      precomputed[key] = new Promise((resolve, reject) => {
        waiting[key] = (b64) => decodeBytes(b64).then(resolve, reject);
        const file = D.images[index].file.replace(/\.js$/, "-" + name + ".js");
        const s = el("script", {src: "viewer/" + file});
        s.onerror = () => reject(new Error("cannot read viewer/" + file));
        document.body.append(s);
      });
    }
    return precomputed[key];
  }
  let tmoBytes = null;  // display bytes of the current image under the current precomputed operator
  function tmoDisplay(k, info) {  // Float32Array of panel k's display values in [0, 1]
    const img = D.images[state.image], n = img.width * img.height * 3, off = k * n, out = new Float32Array(n);
    if (info.precomputed) {
      for (let i = 0; i < n; i++) out[i] = tmoBytes[off + i] / 255;
      return out;
    }
    const st = img.tonemap[info.name], curve = TMO_CURVES[info.name], enc = TMO_ENCODE[info.name];
    const pos = (v) => (v > 0 ? v : 0);  // NaN and negatives -> 0, as tonemappers.clean
    for (let i = 0; i < n; i += 3) {
      const v = curve(pos(floats[off + i]), pos(floats[off + i + 1]), pos(floats[off + i + 2]), info.params, st);
      out[i] = enc(v[0], info.params); out[i + 1] = enc(v[1], info.params); out[i + 2] = enc(v[2], info.params);
    }
    return out;
  }
  async function setTone(tone) {
    state.tone = tone;
    const info = tmoInfo(tone);
    $("ev").disabled = !!info;
    $("tone-caption").textContent = info ? `${info.caption} (${D.tonemap_note}; exposure not applied)`
      : `${$("tone").selectedOptions[0].textContent} of value × 2^EV`;
    tmoBytes = null;
    if (info && info.precomputed) {
      document.body.dataset.ready = "0";
      const index = state.image;
      const bytes = await loadPrecomputed(index, info.name);
      if (state.image !== index || state.tone !== tone) return;
      tmoBytes = bytes;
      document.body.dataset.ready = "1";
    }
    renderAll();
  }

  function ramp(t) {
    const x = Math.min(Math.max(t, 0), 1) * (RAMP.length - 1), i = Math.min(Math.floor(x), RAMP.length - 2);
    const f = x - i, a = RAMP[i], b = RAMP[i + 1];
    return [a[0] + f * (b[0] - a[0]), a[1] + f * (b[1] - a[1]), a[2] + f * (b[2] - a[2])];
  }

  /* ---------- state ---------- */
  const state = {image: 0, mode: "grid", a: 0, b: 0, split: 50, ev: 0, tone: "gamma", errmap: false,
    zoom: 1, x: 0, y: 0, size: 0, hidden: new Set()};
  let floats = null;        // Float32Array of the current image, all panels
  let canvases = [];        // one canvas per panel of the current image
  let viewports = [];       // [{node, layers: [layer...], width}] of the current view

  function render(k) {
    const img = D.images[state.image], w = img.width, h = img.height, n = w * h * 3;
    const panel = img.panels[k], canvas = canvases[k], ctx = canvas.getContext("2d");
    const out = ctx.createImageData(w, h), o = out.data;
    const off = k * n, gtOff = (img.panels.length - 1) * n;
    const gain = Math.pow(2, state.ev), curve = CURVES[state.tone], info = tmoInfo(state.tone);
    if (info && (panel.kind === "pred" || panel.kind === "gt")) {  // a named tone mapper
      if (info.precomputed && !tmoBytes) return;  // still loading: drawn when it arrives
      const shown = tmoDisplay(k, info), gt = state.errmap && panel.kind === "pred"
        ? tmoDisplay(img.panels.length - 1, info) : null;
      for (let i = 0, j = 0; i < n; i += 3, j += 4) {
        if (gt) {
          const c = ramp((Math.abs(shown[i] - gt[i]) + Math.abs(shown[i + 1] - gt[i + 1])
            + Math.abs(shown[i + 2] - gt[i + 2])) / 3 / ERR_MAX);
          o[j] = c[0]; o[j + 1] = c[1]; o[j + 2] = c[2];
        } else {
          o[j] = 255 * shown[i]; o[j + 1] = 255 * shown[i + 1]; o[j + 2] = 255 * shown[i + 2];
        }
        o[j + 3] = 255;
      }
    } else if (panel.kind === "ldr" || panel.kind === "overlay") {  // display-referred (input, region map)
      for (let i = 0, j = 0; i < n; i += 3, j += 4) {
        o[j] = 255 * floats[off + i]; o[j + 1] = 255 * floats[off + i + 1]; o[j + 2] = 255 * floats[off + i + 2];
        o[j + 3] = 255;
      }
    } else if (state.errmap && panel.kind === "pred") {
      for (let i = 0, j = 0; i < n; i += 3, j += 4) {
        const e = (Math.abs(curve(gain * floats[off + i]) - curve(gain * floats[gtOff + i]))
          + Math.abs(curve(gain * floats[off + i + 1]) - curve(gain * floats[gtOff + i + 1]))
          + Math.abs(curve(gain * floats[off + i + 2]) - curve(gain * floats[gtOff + i + 2]))) / 3;
        const c = ramp(e / ERR_MAX);
        o[j] = c[0]; o[j + 1] = c[1]; o[j + 2] = c[2]; o[j + 3] = 255;
      }
    } else {
      for (let i = 0, j = 0; i < n; i += 3, j += 4) {
        o[j] = 255 * curve(gain * floats[off + i]); o[j + 1] = 255 * curve(gain * floats[off + i + 1]);
        o[j + 2] = 255 * curve(gain * floats[off + i + 2]); o[j + 3] = 255;
      }
    }
    ctx.putImageData(out, 0, 0);
  }

  function renderAll() {
    if (!floats) return;
    for (let k = 0; k < canvases.length; k++) render(k);
    $("ev-value").textContent = (state.ev >= 0 ? "+" : "") + state.ev.toFixed(1) + " EV";
    $("legend").hidden = !state.errmap;
    $("err-max").textContent = ERR_MAX.toFixed(2);
  }

  /* ---------- linked zoom and pan ---------- */
  function applyView() {
    const img = D.images[state.image];
    for (const vp of viewports) {
      const s = (vp.width / img.width) * state.zoom;
      const tx = -state.x * s, ty = -state.y * s;
      for (const layer of vp.layers) {
        layer.style.transform = `translate(${tx}px, ${ty}px) scale(${s})`;
        const box = layer.querySelector(".box");
        if (box) box.style.borderWidth = (1.5 / s) + "px";
      }
    }
    for (const clip of document.querySelectorAll(".clip.right")) clip.style.clipPath = `inset(0 0 0 ${state.split}%)`;
    for (const d of document.querySelectorAll(".divider")) d.style.left = state.split + "%";
  }

  function clampView() {
    const img = D.images[state.image];
    state.zoom = Math.min(Math.max(state.zoom, 1), 64);
    state.x = Math.min(Math.max(state.x, 0), img.width * (1 - 1 / state.zoom));
    state.y = Math.min(Math.max(state.y, 0), img.height * (1 - 1 / state.zoom));
  }

  function attachNavigation(vp) {
    const node = vp.node, img = D.images[state.image];
    const scale = () => (vp.width / img.width) * state.zoom;
    node.addEventListener("wheel", (ev) => {
      ev.preventDefault();
      const r = node.getBoundingClientRect(), mx = ev.clientX - r.left, my = ev.clientY - r.top;
      const s = scale(), px = state.x + mx / s, py = state.y + my / s;
      state.zoom *= Math.pow(2, -ev.deltaY / 300);
      clampView();
      const s2 = scale();
      state.x = px - mx / s2; state.y = py - my / s2;
      clampView(); applyView();
    }, {passive: false});
    node.addEventListener("pointerdown", (ev) => {
      node.setPointerCapture(ev.pointerId);
      node.classList.add("dragging");
      let lx = ev.clientX, ly = ev.clientY;
      const move = (e) => {
        const s = scale();
        state.x -= (e.clientX - lx) / s; state.y -= (e.clientY - ly) / s;
        lx = e.clientX; ly = e.clientY;
        clampView(); applyView();
      };
      const up = () => {
        node.classList.remove("dragging");
        node.removeEventListener("pointermove", move);
        node.removeEventListener("pointerup", up);
      };
      node.addEventListener("pointermove", move);
      node.addEventListener("pointerup", up);
    });
    node.addEventListener("dblclick", () => { state.zoom = 1; state.x = 0; state.y = 0; applyView(); });
  }

  function panelKey(p) { return p.method || p.kind; }  // labels need not be unique, method ids are

  function layer(img, k) {
    const [y, x, s] = img.box;
    return el("div", {class: "layer", style: `width:${img.width}px;height:${img.height}px`}, canvases[k],
      el("div", {class: "box", style: `left:${x}px;top:${y}px;width:${s}px;height:${s}px`,
        title: "most clipped region of the LDR input"}));
  }

  function buildView() {
    const img = D.images[state.image], view = $("view");
    view.textContent = "";
    viewports = [];
    const aspect = img.height / img.width;
    if (state.mode === "grid") {
      const width = state.size;
      img.panels.forEach((p, k) => {
        if (state.hidden.has(panelKey(p))) return;
        const lay = layer(img, k);
        const node = el("div", {class: "viewport", style: `width:${width}px;height:${Math.round(width * aspect)}px`},
          lay);
        viewports.push({node, layers: [lay], width});
        view.append(el("figure", {class: "panel", "data-kind": p.kind, "data-index": k, style: `width:${width}px`},
          node, el("figcaption", {text: p.title, title: p.title})));
      });
    } else {
      const width = Math.min(Math.max(2 * state.size, 512), view.clientWidth || 800);
      const left = layer(img, state.a), right = layer(img, state.b);
      const node = el("div", {class: "viewport split", style: `width:${width}px;height:${Math.round(width * aspect)}px`},
        el("div", {class: "clip left"}, left), el("div", {class: "clip right"}, right), el("div", {class: "divider"}),
        el("span", {class: "tag left", text: img.panels[state.a].title}),
        el("span", {class: "tag right", text: img.panels[state.b].title}));
      viewports.push({node, layers: [left, right], width});
      view.append(el("figure", {class: "panel", "data-kind": "split"}, node));
    }
    viewports.forEach(attachNavigation);
    $("split-controls").hidden = state.mode !== "split";
    applyView();
  }

  async function showImage(index) {
    document.body.dataset.ready = "0";
    state.image = index;
    const img = D.images[index];
    state.ev = img.ev0; state.zoom = 1; state.x = 0; state.y = 0;
    $("ev").value = state.ev;
    canvases = img.panels.map(() => el("canvas", {width: img.width, height: img.height}));
    for (const id of ["split-a", "split-b"]) {
      $(id).replaceChildren(...img.panels.map((p, k) => el("option", {value: k, text: p.title})));
    }
    state.a = Math.min(state.a, img.panels.length - 1) || img.panels.length - 2;
    state.b = img.panels.length - 1;
    $("split-a").value = state.a; $("split-b").value = state.b;
    if (!state.size) {  // first image: native size within 200 … 360 CSS pixels
      state.size = Math.min(Math.max(img.width, 200), 360);
      $("size").value = state.size;
    }
    $("shown").replaceChildren("Show:", ...img.panels.map((p) => el("label", {},
      el("input", {type: "checkbox", checked: !state.hidden.has(panelKey(p)), "data-title": p.title,
        onchange: (e) => {
          if (e.target.checked) state.hidden.delete(panelKey(p)); else state.hidden.add(panelKey(p));
          buildView();
        }}), " " + p.title)));
    floats = null;
    buildView();
    imageScores();
    floats = await pixels(index);
    if (state.image !== index) return;
    if (tmoInfo(state.tone)) {
      await setTone(state.tone);  // the operator's data of this image
      if (state.image !== index) return;
    } else renderAll();
    showNative();
    document.body.dataset.ready = "1";
  }

  /* ---------- tables ---------- */
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
        onclick: index >= 0 ? () => { $("image").value = index; showImage(index); $("compare").scrollIntoView(); }
          : null},
      el("td", {class: "label", text: image}),
      ...methods.map((m) => {
        const v = byImage[image][m.id];
        return el("td", {class: r[m.id] <= 3 ? "rank-" + r[m.id] : null, "data-v": v === undefined ? "" : v,
          text: fmt(v, metric.decimals)});
      }));
    });
    const table = el("table", {class: "per-image"},
      el("caption", {text: `${metric.label}${metric.lower_better ? "↓" : "↑"} per image (colours rank each row)`}),
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

  /* ---------- native HDR: the panels as AVIF-PQ / Ultra HDR files (viewer/hdr-<n>.js), on HDR displays only ------ */
  const NO_HDR = "not shown: this display/browser does not report HDR (CSS dynamic-range: high)";
  const nativeWaiting = {}, nativeLoaded = {};
  window.hdrViewerNative = function (index, files) {
    if (nativeWaiting[index]) nativeWaiting[index](files);
  };

  function nativeFiles(index) {  // index -> Promise<{encoding: [{panel, title, uri}]}>
    if (!nativeLoaded[index]) {
      nativeLoaded[index] = new Promise((resolve, reject) => {
        nativeWaiting[index] = resolve;
        const s = el("script", {src: "viewer/" + D.images[index].hdr.file});
        s.onerror = () => reject(new Error("cannot read viewer/" + D.images[index].hdr.file));
        document.body.append(s);
      });
    }
    return nativeLoaded[index];
  }

  function hdrDisplay() {
    return Boolean(window.matchMedia && window.matchMedia("(dynamic-range: high)").matches);
  }

  async function showNative() {
    const img = D.images[state.image], select = $("hdr-mode"), holder = $("hdr-view"), note = $("hdr-note");
    holder.textContent = "";
    $("hdr-controls").hidden = !(img && img.hdr);
    if (!img || !img.hdr) return;
    for (const o of select.options) o.disabled = o.value !== "" && !img.hdr.encodings.includes(o.value);
    if (!hdrDisplay()) {
      select.disabled = true;
      note.textContent = NO_HDR;
      return;
    }
    select.disabled = false;
    note.textContent = "fixed rendering, exposure and tone curve do not apply; " + (D.hdr_display || "");
    const mode = select.value, index = state.image;
    if (!mode) return;
    const files = await nativeFiles(index);
    if (state.image !== index || select.value !== mode) return;
    holder.textContent = "";
    for (const f of files[mode] || []) {
      holder.append(el("figure", {class: "panel native", "data-kind": img.panels[f.panel].kind,
        style: `width:${state.size}px`}, el("img", {src: f.uri, alt: f.title, style: "width:100%"}),
      el("figcaption", {text: f.title, title: f.title})));
    }
  }

  /* ---------- start ---------- */
  function start() {
    for (const note of D.notes) $("notes").append(el("div", {class: "note", text: note}));
    $("table-list").append(...D.tables.map(reportTable));
    $("ps-set").replaceChildren(...D.scores.test_sets.map((t) => el("option", {value: t.id, text: t.label})));
    $("ps-metric").replaceChildren(...D.scores.metrics.map((m) => el("option", {value: m.id, text: m.label})));
    if (D.images.length) $("ps-set").value = D.images[0].test_set;
    $("ps-set").addEventListener("change", perImageTable);
    $("ps-metric").addEventListener("change", perImageTable);
    perImageTable();
    if (!D.images.length) {
      $("compare").append(el("p", {class: "hint", text: "No images (see the note above)."}));
      document.body.dataset.ready = "1";
      return;
    }
    $("image").replaceChildren(...D.images.map((im, i) => el("option", {value: i, text: im.id})));
    $("image").addEventListener("change", () => showImage(Number($("image").value)));
    $("mode").addEventListener("change", () => { state.mode = $("mode").value; buildView(); renderAll(); });
    $("split-a").addEventListener("change", () => { state.a = Number($("split-a").value); buildView(); });
    $("split-b").addEventListener("change", () => { state.b = Number($("split-b").value); buildView(); });
    $("split").addEventListener("input", () => { state.split = Number($("split").value); applyView(); });
    $("ev").addEventListener("input", () => { state.ev = Number($("ev").value); renderAll(); });
    $("ev-auto").addEventListener("click", () => {
      state.ev = D.images[state.image].ev0; $("ev").value = state.ev; renderAll();
    });
    $("tone").append(el("optgroup", {label: "Tone mappers"}, ...D.tonemappers.map((t) =>
      el("option", {value: "tmo:" + t.name, text: t.name, title: t.caption}))));
    $("tone").addEventListener("change", () => {
      setTone($("tone").value).catch((e) => $("notes").append(el("div", {class: "note", text: e.message})));
    });
    $("errmap").addEventListener("change", () => { state.errmap = $("errmap").checked; renderAll(); });
    $("box").addEventListener("change", () => { document.body.classList.toggle("no-box", !$("box").checked); });
    $("size").addEventListener("input", () => { state.size = Number($("size").value); buildView(); });
    $("fit").addEventListener("click", () => { state.zoom = 1; state.x = 0; state.y = 0; applyView(); });
    state.tone = $("tone").value;
    $("tone-caption").textContent = `${$("tone").selectedOptions[0].textContent} of value × 2^EV`;
    $("hdr-mode").addEventListener("change", showNative);
    if (window.matchMedia) window.matchMedia("(dynamic-range: high)").addEventListener("change", showNative);
    showImage(0).catch((e) => {
      $("notes").append(el("div", {class: "note", text: "cannot show the images: " + e.message}));
      throw e;
    });
  }

  window.hdrViewer = {state, data: D, pixels, half: HALF,  // for tests and the console
    tonemapped: (k) => Array.from(tmoDisplay(k, tmoInfo(state.tone)))};
  window.hdrViewer.showNative = showNative;
  start();
})();
