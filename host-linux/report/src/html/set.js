// The page across trials: box plots of the headline figures, one box per
// configuration, every trial a dot, on scales shared by all configurations.
(function () {
  "use strict";
  var started = performance.now();
  var SM = window.SM;
  var D = JSON.parse(document.getElementById("data").textContent);
  var host = document.getElementById("boxes");
  var groups = D.groups || [];
  var METRICS = [
    { key: "largest_jump", title: "Largest clock jump", unit: "clock units", whole: true },
    { key: "largest_drift", title: "Largest drift behind the fastest machine", unit: "clock units", whole: true },
    { key: "slowest_growth_per_s", title: "Slowest machine's inbox growth", unit: "msgs per model s", predicted: "slowest_predicted_per_s" }
  ];
  // The smallest span of an axis: 1 for counts, 0.1 for rates, so that
  // all-zero data still gets an axis (the PNGs' rule, plot/across.rs).
  function spanMin(metric) { return metric.whole ? 1 : 0.1; }
  var POINT = "#1d2228", PREDICTED = "#D55E00", BOX = "#0072B2";
  var dots = 0;

  function panel(metric) {
    var wrap = SM.el("div", { "class": "boxes" });
    wrap.appendChild(SM.el("h3", {}, metric.title + " (" + metric.unit + ")"));
    if (metric.predicted) {
      var legend = SM.el("div", { "class": "toolbar note" });
      legend.appendChild(SM.el("span", {}, "● a trial, measured"));
      var p = SM.el("span", {}, "◇ the queueing estimate's prediction for that trial, joined to its dot");
      p.style.color = PREDICTED;
      legend.appendChild(p);
      wrap.appendChild(legend);
    }
    host.appendChild(wrap);
    var cv = SM.el("canvas");
    wrap.appendChild(cv);
    var tip = SM.tip(wrap);
    var W = Math.max(400, host.clientWidth || 1000), H = 250, L = 70, R = 16, T = 12, B = 40;
    var ctx = SM.sizeCanvas(cv, W, H);
    var values = [];
    groups.forEach(function (g) {
      g.trials.forEach(function (t) {
        values.push(Number(t[metric.key]) || 0);
        if (metric.predicted) values.push(Number(t[metric.predicted]) || 0);
      });
    });
    // The axis follows the data, from 0 or below (0 is no growth, no jump).
    var lo = Math.min.apply(null, values.concat([0])), hi = Math.max.apply(null, values.concat([lo]));
    hi = Math.max(hi, lo + spanMin(metric));
    var pad = (hi - lo) * 0.08;
    var yt = SM.ticks(lo - (lo < 0 ? pad : 0), hi + pad, 5, metric.whole);
    var y0 = Math.min(yt[0], lo), y1 = Math.max(yt[yt.length - 1], hi + pad);
    function y(v) { return H - B - (v - y0) / (y1 - y0 || 1) * (H - B - T); }
    ctx.font = "12px system-ui, sans-serif";
    ctx.textAlign = "right"; ctx.textBaseline = "middle";
    var step = yt.length > 1 ? yt[1] - yt[0] : 1;
    yt.forEach(function (v) {
      ctx.strokeStyle = v === 0 ? "#b9c0c7" : "#eceff2";
      ctx.beginPath(); ctx.moveTo(L, Math.round(y(v)) + 0.5); ctx.lineTo(W - R, Math.round(y(v)) + 0.5); ctx.stroke();
      ctx.fillStyle = "#3b434b"; ctx.fillText(SM.tickLabel(v, step), L - 6, y(v));
    });
    var slot = (W - L - R) / Math.max(1, groups.length), hits = [];
    groups.forEach(function (g, gi) {
      var cx = L + slot * (gi + 0.5), bw = Math.min(90, slot * 0.45);
      var vals = g.trials.map(function (t) { return Number(t[metric.key]) || 0; });
      var sorted = vals.slice().sort(function (a, b) { return a - b; });
      if (sorted.length) {
        var q1 = SM.quantile(sorted, 0.25), med = SM.quantile(sorted, 0.5), q3 = SM.quantile(sorted, 0.75);
        ctx.strokeStyle = BOX; ctx.lineWidth = 1.5;
        ctx.beginPath();
        ctx.moveTo(cx, y(sorted[0])); ctx.lineTo(cx, y(q1));
        ctx.moveTo(cx, y(q3)); ctx.lineTo(cx, y(sorted[sorted.length - 1]));
        ctx.moveTo(cx - bw / 4, y(sorted[0])); ctx.lineTo(cx + bw / 4, y(sorted[0]));
        ctx.moveTo(cx - bw / 4, y(sorted[sorted.length - 1])); ctx.lineTo(cx + bw / 4, y(sorted[sorted.length - 1]));
        ctx.stroke();
        ctx.fillStyle = "rgba(0, 114, 178, 0.12)";
        ctx.fillRect(cx - bw / 2, y(q3), bw, Math.max(1, y(q1) - y(q3)));
        ctx.strokeRect(cx - bw / 2, y(q3), bw, Math.max(1, y(q1) - y(q3)));
        ctx.lineWidth = 3;
        ctx.beginPath(); ctx.moveTo(cx - bw / 2, y(med)); ctx.lineTo(cx + bw / 2, y(med)); ctx.stroke();
        ctx.lineWidth = 1;
      }
      g.trials.forEach(function (t, ti) {
        // Spread the dots across the box so equal values stay countable.
        var n = g.trials.length, dx = n > 1 ? (ti / (n - 1) - 0.5) * bw * 0.8 : 0;
        var v = Number(t[metric.key]) || 0, px = cx + dx, py = y(v);
        ctx.fillStyle = POINT;
        ctx.beginPath(); ctx.arc(px, py, 3.5, 0, 2 * Math.PI); ctx.fill();
        dots++;
        hits.push([px, py, g.name + " / " + t.path + ": " + v]);
        if (metric.predicted) {
          // The prediction at the trial's own x, joined to its measurement.
          var p = Number(t[metric.predicted]) || 0, qy = y(p), qx = px;
          ctx.strokeStyle = PREDICTED; ctx.lineWidth = 1; ctx.setLineDash([2, 2]);
          ctx.beginPath(); ctx.moveTo(px, py); ctx.lineTo(qx, qy); ctx.stroke(); ctx.setLineDash([]);
          ctx.lineWidth = 1.5;
          ctx.beginPath(); ctx.moveTo(qx, qy - 6); ctx.lineTo(qx + 6, qy); ctx.lineTo(qx, qy + 6); ctx.lineTo(qx - 6, qy); ctx.closePath(); ctx.stroke();
          ctx.lineWidth = 1;
          var load = t.point ? Number(t.point.slowest_load) : NaN;
          hits.push([qx, qy, g.name + " / " + t.path + ": predicted " + p.toFixed(2) + (isNaN(load) ? "" : " at load " + load.toFixed(2))]);
        }
      });
      ctx.fillStyle = "#1d2228"; ctx.textAlign = "center"; ctx.textBaseline = "top";
      ctx.font = "bold 12px system-ui, sans-serif";
      ctx.fillText(g.name, cx, H - B + 6, slot - 8);
      ctx.font = "11px system-ui, sans-serif"; ctx.fillStyle = "#5b6570";
      ctx.fillText("rates " + g.rates + ", die " + g.sides + ", " + g.trials.length + " trials", cx, H - B + 21, slot - 8);
    });
    cv.addEventListener("mousemove", function (e) {
      var best = null, dist = 8;
      hits.forEach(function (h) {
        var d = Math.hypot(h[0] - e.offsetX, h[1] - e.offsetY);
        if (d < dist) { dist = d; best = h; }
      });
      if (best) tip.show([best[2]], e.offsetX, e.offsetY + 30); else tip.hide();
    });
    cv.addEventListener("mouseleave", function () { tip.hide(); });
  }

  METRICS.forEach(panel);

  // The effect-size views (the PNGs' design, plot/effect.rs): every
  // simulated trial a small faint dot, each of the set's own trials a large
  // outlined one, one colour per configuration; hover a dot for its trial.
  function minRate(p) { return Math.max(1, Math.min.apply(null, p.rates)); }
  var VIEWS = {
    "jumps-vs-ratio.png": { x: function (p) { return p.ratio; }, y: function (p) { return p.slowest_jump; },
      xName: "slowest rate ÷ fastest rate", yName: "largest jump (clock units, log scale)", log: true, what: "largest jump" },
    "drift-vs-ratio.png": { x: function (p) { return p.ratio; }, y: function (p) { return p.largest_drift; },
      xName: "slowest rate ÷ fastest rate", yName: "largest drift (clock units, log scale)", log: true, what: "largest drift" },
    "growth-vs-load.png": { x: function (p) { return p.slowest_load; }, y: function (p) { return p.slowest_growth / minRate(p); },
      xName: "load: expected arrivals ÷ rate", yName: "inbox growth (msgs per tick of its own)", log: false, queueing: true, what: "growth per tick" }
  };
  var viewDots = 0;
  function log1p10(v) { return Math.log10(1 + Math.max(0, v)); }

  function view(fig) {
    var V = VIEWS[fig.id];
    if (!V) return;
    var host = fig.querySelector(".view");
    var cv = SM.el("canvas");
    host.appendChild(cv);
    var tip = SM.tip(host);
    var W = Math.max(400, Math.min(1000, (document.body.clientWidth || 1000) - 40)), H = 420, L = 70, R = 16, T = 12, B = 44;
    var ctx = SM.sizeCanvas(cv, W, H);
    var ty = V.log ? log1p10 : function (v) { return v; };
    var pts = [];
    groups.forEach(function (g, gi) {
      (g.scale || []).forEach(function (p) { pts.push([p, gi, false]); });
      g.trials.forEach(function (t) { if (t.point) pts.push([t.point, gi, true, t.path]); });
    });
    var xs = pts.map(function (q) { return V.x(q[0]); }), ys = pts.map(function (q) { return ty(V.y(q[0])); });
    var x0 = V.queueing ? Math.min(0.8, Math.min.apply(null, xs.concat([1]))) : 0;
    var x1 = Math.max(V.queueing ? 1.2 : 1, Math.max.apply(null, xs.concat([0])));
    var y0 = Math.min(0, Math.min.apply(null, ys.concat([0]))), y1 = Math.max(y0 + (V.log ? 1 : 0.1), Math.max.apply(null, ys.concat([0])));
    var padX = (x1 - x0) * 0.05, padY = (y1 - y0) * 0.07;
    x0 -= padX; x1 += padX; y0 -= padY; y1 += padY;
    function px(v) { return L + (v - x0) / (x1 - x0) * (W - L - R); }
    function py(v) { return H - B - (v - y0) / (y1 - y0) * (H - B - T); }
    ctx.font = "12px system-ui, sans-serif";
    ctx.textAlign = "right"; ctx.textBaseline = "middle";
    var keys = [];
    if (V.log) {
      keys.push(0);
      for (var d = 1; log1p10(d) <= y1; d *= 10) [1, 2, 5].forEach(function (m) { if (log1p10(m * d) <= y1) keys.push(m * d); });
    } else {
      keys = SM.ticks(y0, y1, 6, false);
    }
    keys.forEach(function (k) {
      var yy = Math.round(py(ty(k))) + 0.5;
      ctx.strokeStyle = k === 0 ? "#b9c0c7" : "#eceff2";
      ctx.beginPath(); ctx.moveTo(L, yy); ctx.lineTo(W - R, yy); ctx.stroke();
      ctx.fillStyle = "#3b434b"; ctx.fillText(V.log ? String(k) : SM.tickLabel(k, keys.length > 1 ? keys[1] - keys[0] : 1), L - 6, yy);
    });
    ctx.textAlign = "center"; ctx.textBaseline = "top";
    SM.ticks(Math.max(0, x0), x1, 8, false).forEach(function (k, i, all) {
      var xx = Math.round(px(k)) + 0.5;
      ctx.strokeStyle = "#eceff2";
      ctx.beginPath(); ctx.moveTo(xx, T); ctx.lineTo(xx, H - B); ctx.stroke();
      ctx.fillStyle = "#3b434b"; ctx.fillText(SM.tickLabel(k, all.length > 1 ? all[1] - all[0] : 1), xx, H - B + 6);
    });
    ctx.fillText(V.xName, L + (W - L - R) / 2, H - B + 24);
    ctx.save(); ctx.translate(14, T + (H - B - T) / 2); ctx.rotate(-Math.PI / 2); ctx.fillText(V.yName, 0, 0); ctx.restore();
    if (V.queueing) {
      ctx.fillStyle = "rgba(255, 200, 0, 0.18)";
      ctx.fillRect(px(0.9), T, px(1.1) - px(0.9), H - B - T);
      ctx.strokeStyle = "#000"; ctx.lineWidth = 2;
      ctx.beginPath(); ctx.moveTo(px(x0), py(0)); ctx.lineTo(px(1), py(0)); ctx.lineTo(px(x1), py(x1 - 1)); ctx.stroke();
      ctx.lineWidth = 1;
    }
    var colours = SM.configColours, hits = [];
    function jitter(k) { var z = Math.sin(k * 12.9898) * 43758.5453; return z - Math.floor(z) - 0.5; }
    pts.forEach(function (q, k) {
      var p = q[0], c = colours[q[1] % colours.length] || "#555";
      var xx = px(V.x(p) + (V.queueing ? 0 : 0.012 * jitter(k))), yy = py(ty(V.y(p)));
      ctx.beginPath();
      if (q[2]) {
        return;
      }
      ctx.globalAlpha = 0.3; ctx.fillStyle = c;
      ctx.arc(xx, yy, 2, 0, 2 * Math.PI); ctx.fill(); ctx.globalAlpha = 1;
      hits.push([xx, yy, q, V.y(p)]);
      viewDots++;
    });
    pts.forEach(function (q) {
      if (!q[2]) return;
      var p = q[0], c = colours[q[1] % colours.length] || "#555";
      var xx = px(V.x(p)), yy = py(ty(V.y(p)));
      ctx.fillStyle = c; ctx.strokeStyle = "#000";
      ctx.beginPath(); ctx.arc(xx, yy, 6, 0, 2 * Math.PI); ctx.fill(); ctx.stroke();
      hits.push([xx, yy, q, V.y(p)]);
      viewDots++;
    });
    var legend = SM.el("div", { "class": "toolbar note" });
    groups.forEach(function (g, gi) {
      var sw = SM.el("span", {}, "● " + g.name);
      sw.style.color = colours[gi % colours.length];
      legend.appendChild(sw);
    });
    legend.appendChild(SM.el("span", {}, "small, faint: simulated; large, outlined: the trials" + (V.queueing ? "; line: predicted growth max(0, load − 1); shaded: the critical region, load 0.9–1.1" : "")));
    host.insertBefore(legend, cv);
    cv.addEventListener("mousemove", function (e) {
      var best = null, dist = 8;
      hits.forEach(function (h) {
        var dd = Math.hypot(h[0] - e.offsetX, h[1] - e.offsetY);
        if (dd < dist || (dd === dist && best && !best[2][2])) { dist = dd; best = h; }
      });
      if (!best) { tip.hide(); return; }
      var q = best[2], p = q[0], g = groups[q[1]];
      var head = g.name + (q[2] ? " / " + q[3] : " / simulated") + ": seed " + p.seed + ", rates " + p.rates.join(", ") + ", die " + p.sides;
      tip.show([head, V.what + " " + (V.log ? best[3] : best[3].toFixed(3)) + (V.queueing ? " at load " + p.slowest_load.toFixed(2) : " at ratio " + p.ratio.toFixed(2))], e.offsetX, e.offsetY + 30);
    });
    cv.addEventListener("mouseleave", function () { tip.hide(); });
  }
  Array.prototype.forEach.call(document.querySelectorAll("figure.effect"), view);

  var ds = document.body.dataset;
  ds.viewDots = String(viewDots);
  ds.groups = String(groups.length);
  ds.points = String(dots);
  ds.loadMs = String(Math.round(performance.now() - started));
  ds.ready = "1";
})();
