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
  var ds = document.body.dataset;
  ds.groups = String(groups.length);
  ds.points = String(dots);
  ds.loadMs = String(Math.round(performance.now() - started));
  ds.ready = "1";
})();
