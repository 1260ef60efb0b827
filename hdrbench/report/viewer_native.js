/* hdrbench result viewer, native HDR: the panels as AVIF-PQ / Ultra HDR files (viewer/hdr-<n>.js, which calls
 * hdrViewerNative(n, {encoding: [{panel, title, uri}]})), shown as <img> only where the display reports HDR
 * (CSS dynamic-range: high); elsewhere a one-line note. Loaded before viewer.js, which calls
 * hdrViewerParts.native(core) with what it shares (see there).
 */
(function (parts) {
  "use strict";
  const NO_HDR = "not shown: this display/browser does not report HDR (CSS dynamic-range: high)";

  function hdrDisplay() {
    return Boolean(window.matchMedia && window.matchMedia("(dynamic-range: high)").matches);
  }

  parts.native = function (core) {
    const {D, $, el, state} = core;
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

    function controls() {  // redraw on a change of the select or of the display (a window moved to an HDR screen)
      $("hdr-mode").addEventListener("change", showNative);
      if (window.matchMedia) window.matchMedia("(dynamic-range: high)").addEventListener("change", showNative);
    }

    return {showNative, controls};
  };
})(window.hdrViewerParts = window.hdrViewerParts || {});
