/* hdrbench result viewer: plain JavaScript, no dependencies, nothing loaded from the network.
 *
 * Data: window.HDR_VIEWER_DATA (viewer/data.js); the pixels of image n come from viewer/img-<n>.js, which calls
 * hdrViewerImage(n, base64): gzip-compressed half floats, byte-planar (all low bytes, then all high bytes), panel
 * after panel, each (height, width, 3) row-major. Tone mapping runs on the decoded float values (Float32Array):
 * display = curve(value * 2^EV), curve = linear | gamma 2.2 | PU21, then 8 bits for the canvas; or a named tone
 * mapper (hdrbench.report.tonemappers), see viewer_tonemap.js.
 *
 * This file is the core (data loading, half-float decoding, panels, zoom and pan, controls). Plain scripts loaded
 * before it by viewer.html (no modules: the page is opened from file://) each put one factory on
 * window.hdrViewerParts: tonemap (viewer_tonemap.js: named tone mappers), native (viewer_native.js: native HDR
 * panels), tables (viewer_tables.js: score tables). Each is called once below with `core`, what they share.
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

  const parts = window.hdrViewerParts;
  const core = {D, $, el, state, waiting, decodeBytes, renderAll, showImage,
    get floats() { return floats; }};
  const tone = parts.tonemap(core), native = parts.native(core), tables = parts.tables(core);

  function render(k) {
    const img = D.images[state.image], w = img.width, h = img.height, n = w * h * 3;
    const panel = img.panels[k], canvas = canvases[k], ctx = canvas.getContext("2d");
    const out = ctx.createImageData(w, h), o = out.data;
    const off = k * n, gtOff = (img.panels.length - 1) * n;
    const gain = Math.pow(2, state.ev), curve = CURVES[state.tone], info = tone.tmoInfo(state.tone);
    if (info && (panel.kind === "pred" || panel.kind === "gt")) {  // a named tone mapper
      if (tone.pending(info)) return;  // still loading: drawn when it arrives
      const shown = tone.tmoDisplay(k, info), gt = state.errmap && panel.kind === "pred"
        ? tone.tmoDisplay(img.panels.length - 1, info) : null;
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
    tables.imageScores();
    floats = await pixels(index);
    if (state.image !== index) return;
    if (tone.tmoInfo(state.tone)) {
      await tone.setTone(state.tone);  // the operator's data of this image
      if (state.image !== index) return;
    } else renderAll();
    native.showNative();
    document.body.dataset.ready = "1";
  }

  /* ---------- start ---------- */
  function start() {
    for (const note of D.notes) $("notes").append(el("div", {class: "note", text: note}));
    tables.build();
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
    tone.controls();
    $("errmap").addEventListener("change", () => { state.errmap = $("errmap").checked; renderAll(); });
    $("box").addEventListener("change", () => { document.body.classList.toggle("no-box", !$("box").checked); });
    $("size").addEventListener("input", () => { state.size = Number($("size").value); buildView(); });
    $("fit").addEventListener("click", () => { state.zoom = 1; state.x = 0; state.y = 0; applyView(); });
    state.tone = $("tone").value;
    $("tone-caption").textContent = `${$("tone").selectedOptions[0].textContent} of value × 2^EV`;
    native.controls();
    showImage(0).catch((e) => {
      $("notes").append(el("div", {class: "note", text: "cannot show the images: " + e.message}));
      throw e;
    });
  }

  window.hdrViewer = {state, data: D, pixels, half: HALF,  // for tests and the console
    tonemapped: (k) => Array.from(tone.tmoDisplay(k, tone.tmoInfo(state.tone))), showNative: native.showNative};
  start();
})();
