// Helpers shared by the trial page and the page across trials.
window.SM = (function () {
  "use strict";
  // The colours are the PNGs' (palette.rs), handed over in the page.
  var PALETTE = JSON.parse(document.getElementById("palette").textContent);
  var MACHINE_COLOURS = PALETTE.machines;
  // Three machines: solid lines of falling width, each drawn over the one
  // before, so that machines with the same values show as nested bands:
  // every line stays visible, and the last (darkest) is never a faint
  // dotted one. More machines: thin lines, and past the first `solid`
  // colours (whose hues come close) dashed.
  var MACHINE_WIDTHS = [5, 3.5, 2];
  var SOLID = PALETTE.solid || MACHINE_COLOURS.length;
  var machineCount = 3;

  function colour(id) { return MACHINE_COLOURS[id % MACHINE_COLOURS.length]; }
  function width(id) { return machineCount > 3 ? 2 : MACHINE_WIDTHS[id % MACHINE_WIDTHS.length]; }
  function dash(id) { return id % MACHINE_COLOURS.length < SOLID ? [] : [7, 4]; }
  // The page's number of machines, which decides the widths.
  function machines(n) { machineCount = n; }

  // A canvas of CSS size w x h, sharp on high-density screens.
  function sizeCanvas(canvas, w, h) {
    var r = window.devicePixelRatio || 1;
    canvas.width = Math.max(1, Math.round(w * r));
    canvas.height = Math.max(1, Math.round(h * r));
    canvas.style.width = w + "px";
    canvas.style.height = h + "px";
    var ctx = canvas.getContext("2d");
    ctx.setTransform(r, 0, 0, r, 0, 0);
    return ctx;
  }

  // About `count` round tick values over [lo, hi]; with `whole`, steps of
  // at least 1, for counts (the PNGs' rule, plot.rs `ticks`).
  function ticks(lo, hi, count, whole) {
    if (!(hi > lo)) return [lo];
    var raw = (hi - lo) / Math.max(1, count);
    var mag = Math.pow(10, Math.floor(Math.log10(raw)));
    var step = mag;
    [1, 2, 5, 10].some(function (m) { step = m * mag; return step >= raw; });
    if (whole) step = Math.max(1, Math.round(step));
    var out = [];
    for (var v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9 && out.length < 1000; v += step) {
      out.push(Math.abs(v) < step * 1e-9 ? 0 : v);
    }
    return out;
  }

  // A tick label with no more decimals than the step needs.
  function tickLabel(v, step) {
    var decimals = Math.max(0, Math.min(9, -Math.floor(Math.log10(step) + 1e-9)));
    return v.toFixed(decimals);
  }

  // Every y axis of a trial's charts counts (clock units, messages): uPlot
  // may step them by whole numbers only.
  var countIncrs = [];
  for (var mag = 1; mag < 1e16; mag *= 10) countIncrs.push(mag, 2 * mag, 5 * mag);

  // The space-time diagram's spacing of time ticks, in CSS px.
  var TIME_TICK_PX = 110;

  // A uPlot time axis with the diagram's ticks: with the diagram's insets,
  // one time lines up vertically on every chart.
  function timeAxis(labelSize) {
    return {
      label: "model time (s)", labelSize: labelSize,
      splits: function (u, i, lo, hi) {
        return ticks(lo, hi, Math.max(2, Math.floor(u.bbox.width / devicePixelRatio / TIME_TICK_PX)));
      },
      values: function (u, splits) {
        var step = splits.length > 1 ? splits[1] - splits[0] : 1;
        return splits.map(function (v) { return tickLabel(v, step); });
      }
    };
  }

  // `v` with `decimals` places, never "-0.000": a value that rounds to zero
  // has no sign. `sign` puts a "+" before positive values.
  function fixed(v, decimals, sign) {
    var text = v.toFixed(decimals);
    if (/^-?[0.]*$/.test(text)) return text.replace("-", "");
    return (sign && v > 0 ? "+" : "") + text;
  }

  // A whole number as text, exactly when it is exact.
  function int(x) {
    if (Number.isSafeInteger(x)) return String(x);
    if (Number.isFinite(x)) return BigInt(x).toString();
    return String(x);
  }

  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (text !== undefined) e.textContent = text;
    return e;
  }

  // A tooltip inside `host` (positioned), placed near (x, y) and kept inside it.
  function tip(host) {
    var box = el("div", { "class": "tip", hidden: "" });
    host.appendChild(box);
    return {
      show: function (lines, x, y) {
        box.textContent = "";
        lines.forEach(function (l) {
          box.appendChild(el("div", l.mono ? { "class": "mono" } : {}, l.text !== undefined ? l.text : l));
        });
        box.hidden = false;
        var w = box.offsetWidth, h = box.offsetHeight;
        var left = x + 14 + w > host.clientWidth ? Math.max(0, x - 14 - w) : x + 14;
        var top = y + 14 + h > host.clientHeight ? Math.max(0, y - 14 - h) : y + 14;
        box.style.left = left + "px";
        box.style.top = top + "px";
      },
      hide: function () { box.hidden = true; }
    };
  }

  // The q-quantile of sorted numbers, interpolated.
  function quantile(sorted, q) {
    if (!sorted.length) return NaN;
    var pos = (sorted.length - 1) * q, lo = Math.floor(pos), hi = Math.ceil(pos);
    return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
  }

  // A small swatch of a machine's line for legends.
  function lineSwatch(id) {
    var c = el("canvas");
    var ctx = sizeCanvas(c, 34, 12);
    ctx.strokeStyle = colour(id);
    ctx.lineWidth = width(id);
    ctx.setLineDash(dash(id));
    ctx.beginPath();
    ctx.moveTo(1, 6);
    ctx.lineTo(33, 6);
    ctx.stroke();
    return c;
  }

  return {
    colour: colour, kindColours: PALETTE.kinds, configColours: PALETTE.configurations || [], width: width, dash: dash, solid: SOLID, machines: machines, sizeCanvas: sizeCanvas, ticks: ticks,
    tickLabel: tickLabel, countIncrs: countIncrs, TIME_TICK_PX: TIME_TICK_PX, timeAxis: timeAxis, fixed: fixed, int: int, el: el, tip: tip, quantile: quantile, lineSwatch: lineSwatch
  };
})();
