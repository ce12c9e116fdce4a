// The jump histogram of a trial's page: how many events changed each
// machine's clock by each amount above 1, in grouped bars, each labelled.
window.SM.jumps = function (section, D, lanes, Wd) {
  "use strict";
  var SM = window.SM;
  var s = section("Clock jumps",
    "How many events changed each machine's clock by each amount above 1 (only a receive can jump); linear counts, each bar labelled.");
  var ones = D.histograms.map(function (h, i) {
    var one = h.filter(function (p) { return p[0] === 1; });
    return "machine " + i + ": " + (one.length ? one[0][1] : 0);
  });
  s.appendChild(SM.el("p", { "class": "note" }, "Events that moved the clock by exactly 1 (no jump) — " + ones.join(", ") + "."));
  var sizes = {};
  D.histograms.forEach(function (h) { h.forEach(function (p) { if (p[0] > 1) sizes[p[0]] = true; }); });
  var keys = Object.keys(sizes).map(Number).sort(function (a, b) { return a - b; });
  if (!keys.length) {
    s.appendChild(SM.el("p", {}, "No clock jumps: every event moved every clock by exactly 1."));
    return;
  }
  // Sizes as they are, or in up to 40 bins of equal width.
  var BINS = 40, lo = keys[0], hi = keys[keys.length - 1];
  var width = keys.length <= BINS ? 0 : Math.ceil((hi - lo + 1) / BINS);
  var bins = width ? [] : keys.map(function (k) { return [k, k]; });
  for (var b = lo; width && b <= hi; b += width) bins.push([b, Math.min(hi, b + width - 1)]);
  var counts = D.histograms.map(function (h) {
    var c = bins.map(function () { return 0; });
    h.forEach(function (p) {
      if (p[0] <= 1) return;
      var at = width ? Math.floor((p[0] - lo) / width) : keys.indexOf(p[0]);
      if (at >= 0 && at < c.length) c[at] += p[1];
    });
    return c;
  });
  var host = SM.el("div", { "class": "hist" });
  s.appendChild(host);
  var cv = SM.el("canvas");
  host.appendChild(cv);
  var tip = SM.tip(host);
  var Hd = 260, L0 = 64, R0 = 12, T0 = 20, B0 = 44;
  var ctx = SM.sizeCanvas(cv, Wd, Hd);
  var max = 1;
  counts.forEach(function (c) { c.forEach(function (v) { max = Math.max(max, v); }); });
  var yt = SM.ticks(0, max * 1.15, 5, true), yStep = yt.length > 1 ? yt[1] - yt[0] : 1;
  var top = Math.ceil(max * 1.15 / yStep) * yStep;
  yt = SM.ticks(0, top, 5, true);
  function y(v) { return Hd - B0 - v / top * (Hd - B0 - T0); }
  ctx.font = "12px system-ui, sans-serif";
  ctx.textAlign = "right"; ctx.textBaseline = "middle";
  yt.forEach(function (v) {
    ctx.strokeStyle = "#eceff2"; ctx.beginPath(); ctx.moveTo(L0, Math.round(y(v)) + 0.5); ctx.lineTo(Wd - R0, Math.round(y(v)) + 0.5); ctx.stroke();
    ctx.fillStyle = "#3b434b"; ctx.fillText(String(v), L0 - 6, y(v));
  });
  ctx.save(); ctx.translate(14, (Hd - B0 + T0) / 2); ctx.rotate(-Math.PI / 2); ctx.textAlign = "center";
  ctx.fillText("events", 0, 0); ctx.restore();
  // Slots only for the machines that jumped.
  var jumped = lanes.filter(function (L, li) { return counts[li].some(function (v) { return v > 0; }); });
  var group = (Wd - L0 - R0) / bins.length, bar = Math.min(28, group * 0.8 / jumped.length);
  var rects = [];
  ctx.textAlign = "center";
  bins.forEach(function (bin, bi) {
    var gx = L0 + group * bi + (group - bar * jumped.length) / 2;
    jumped.forEach(function (L, slot) {
      var li = lanes.indexOf(L), v = counts[li][bi];
      if (!v) return;
      var x = gx + bar * slot, yy = Math.min(y(v), Hd - B0 - 2);
      ctx.fillStyle = SM.colour(L.id);
      ctx.fillRect(x, yy, Math.max(1, bar - 1), Hd - B0 - yy);
      rects.push([x, yy, bar, li, bi, v]);
      if (bar >= 9) { ctx.fillStyle = "#1d2228"; ctx.font = "10px system-ui, sans-serif"; ctx.textBaseline = "bottom"; ctx.fillText(String(v), x + bar / 2, yy - 1); }
    });
    ctx.fillStyle = "#3b434b"; ctx.font = "11px system-ui, sans-serif"; ctx.textBaseline = "top";
    var label = bin[0] === bin[1] ? "+" + bin[0] : "+" + bin[0] + "–" + bin[1];
    var every = Math.max(1, Math.ceil(34 / group));
    if (bi % every === 0) ctx.fillText(label, L0 + group * (bi + 0.5), Hd - B0 + 4);
  });
  ctx.textBaseline = "alphabetic"; ctx.font = "12px system-ui, sans-serif";
  ctx.fillText("clock change in one event", L0 + (Wd - L0 - R0) / 2, Hd - 6);
  var legend = SM.el("div", { "class": "toolbar" });
  lanes.forEach(function (L) {
    var item = SM.el("span", { "class": "legend-item" });
    var sw = SM.el("span"); sw.style.cssText = "display:inline-block;width:12px;height:12px;background:" + SM.colour(L.id);
    item.appendChild(sw); item.appendChild(document.createTextNode("machine " + L.id + " (" + L.rate + "/s)"));
    legend.appendChild(item);
  });
  s.insertBefore(legend, host);
  cv.addEventListener("mousemove", function (e) {
    var r = rects.filter(function (q) { return e.offsetX >= q[0] && e.offsetX < q[0] + q[2] && e.offsetY >= q[1] - 14; })[0];
    if (!r) { tip.hide(); return; }
    var bin = bins[r[4]];
    tip.show(["machine " + lanes[r[3]].id + ": " + r[5] + " event" + (r[5] === 1 ? "" : "s") + " changed the clock by " +
      (bin[0] === bin[1] ? "+" + bin[0] : "+" + bin[0] + " to +" + bin[1])], e.offsetX, e.offsetY);
  });
  cv.addEventListener("mouseleave", function () { tip.hide(); });
};
