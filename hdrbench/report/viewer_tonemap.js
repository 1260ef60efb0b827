/* hdrbench result viewer, named tone mappers (hdrbench.report.tonemappers; option values "tmo:<name>").
 *
 * Global ones are computed here from the decoded floats, the operator's parameters (D.tonemappers) and the
 * image's ground-truth statistics (D.images[n].tonemap[name]), as tonemappers.py does; a precomputed (local) one
 * comes as 8-bit display values from viewer/img-<n>-<name>.js. The exposure slider does not apply to them.
 * Loaded before viewer.js, which calls hdrViewerParts.tonemap(core) with what it shares (see there).
 */
(function (parts) {
  "use strict";
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

  parts.tonemap = function (core) {
    const {D, $, el, state, waiting, decodeBytes} = core;
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
      const floats = core.floats;  // the current image's decoded pixels, all panels
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
      core.renderAll();
    }

    function controls() {  // the operators' options under the tone-curve select, and its change handler
      $("tone").append(el("optgroup", {label: "Tone mappers"}, ...D.tonemappers.map((t) =>
        el("option", {value: "tmo:" + t.name, text: t.name, title: t.caption}))));
      $("tone").addEventListener("change", () => {
        setTone($("tone").value).catch((e) => $("notes").append(el("div", {class: "note", text: e.message})));
      });
    }

    // true while a precomputed operator's display bytes of the current image are still loading
    const pending = (info) => info.precomputed && !tmoBytes;

    return {tmoInfo, tmoDisplay, setTone, controls, pending};
  };
})(window.hdrViewerParts = window.hdrViewerParts || {});
