// The faults of a trial's page, drawn on the space-time diagram where they
// acted: a crash (the lane ends at a cross), a stop (the lane ends at a bar),
// a pause (the lane shaded over its span), a partition (both lanes hatched
// over its span, each naming the machine it was cut from), garbage (a
// diamond on the receiving lane). A message lost to a fault ends where it
// was lost, at a small cross; only messages still unreceived at the end
// keep trial.js's dashed line to the end (of the run, or of the receiver's
// lane when it stopped with them waiting). The data is `D.faults` and
// `D.lost` (see data/faults.rs).
window.SM.faults = function (D, lanes, M) {
  "use strict";
  var SM = window.SM;
  var FAULTS = D.faults || [];
  var LOST = D.lost || { k: [], at_s: [], lane: [], fault: [] };
  var CRASH = "#b3261e", STOP = "#3b434b", GARBAGE = "#7b3294", LOST_LINE = "rgba(179, 38, 30, 0.75)";
  var PAUSE_FILL = "rgba(86, 180, 233, 0.22)", PARTITION_INK = "rgba(90, 90, 90, 0.55)";

  // Message k -> its row in LOST.
  var lostRow = {};
  LOST.k.forEach(function (k, r) { lostRow[k] = r; });
  function isLost(k) { return lostRow[k] !== undefined; }

  // Where each lane ends: the first crash or stop of its machine.
  var laneEnd = lanes.map(function () { return null; });
  FAULTS.forEach(function (f) {
    if (f.kind !== "crash" && f.kind !== "stop") return;
    var i = f.lanes[0];
    if (i < laneEnd.length && (laneEnd[i] === null || f.from_s < laneEnd[i])) laneEnd[i] = f.from_s;
  });

  function cross(ctx, x, y, r, colour, width) {
    ctx.strokeStyle = colour;
    ctx.lineWidth = width;
    ctx.beginPath();
    ctx.moveTo(x - r, y - r); ctx.lineTo(x + r, y + r);
    ctx.moveTo(x + r, y - r); ctx.lineTo(x - r, y + r);
    ctx.stroke();
  }
  function diamond(ctx, x, y, r) {
    ctx.fillStyle = GARBAGE;
    ctx.beginPath();
    ctx.moveTo(x, y - r); ctx.lineTo(x + r, y); ctx.lineTo(x, y + r); ctx.lineTo(x - r, y);
    ctx.closePath();
    ctx.fill();
  }
  function stopBar(ctx, x, y, h) {
    ctx.fillStyle = STOP;
    ctx.fillRect(x - 2, y - h / 2, 4, h);
  }
  function hatch(ctx, x, y, w, h) {
    ctx.save();
    ctx.beginPath(); ctx.rect(x, y, w, h); ctx.clip();
    ctx.fillStyle = "rgba(120, 120, 120, 0.08)";
    ctx.fillRect(x, y, w, h);
    ctx.strokeStyle = PARTITION_INK;
    ctx.lineWidth = 1;
    ctx.beginPath();
    for (var d = -h; d < w; d += 7) { ctx.moveTo(x + d, y + h); ctx.lineTo(x + d + h, y); }
    ctx.stroke();
    ctx.restore();
  }
  function label(ctx, text, x, y, colour) {
    ctx.font = "11px system-ui, sans-serif";
    ctx.textAlign = "left";
    ctx.textBaseline = "alphabetic";
    ctx.fillStyle = colour;
    ctx.fillText(text, x, y);
  }

  // The spans, under the messages and events. `g` is the diagram's
  // geometry: tx(t), ly(lane), lane (height), view ([from, to]).
  function background(ctx, g) {
    var drawn = 0;
    FAULTS.forEach(function (f) {
      if (f.until_s === null || f.until_s < g.view[0] || f.from_s > g.view[1]) return;
      var xa = g.tx(Math.max(f.from_s, g.view[0])), xb = g.tx(Math.min(f.until_s, g.view[1]));
      var w = Math.max(2, xb - xa);
      if (f.kind === "pause") {
        var y = g.ly(f.lanes[0]);
        ctx.fillStyle = PAUSE_FILL;
        ctx.fillRect(xa, y - g.lane / 2 + 6, w, g.lane - 12);
        label(ctx, "paused", xa + 3, y - g.lane / 2 + 17, "#1f5f80");
        drawn++;
      } else if (f.kind === "partition") {
        [0, 1].forEach(function (e) {
          var y = g.ly(f.lanes[e]);
          hatch(ctx, xa, y - 16, w, 32);
          label(ctx, "cut from machine " + f.lanes[1 - e], xa + 3, y - 20, "#4a4f55");
        });
        drawn++;
      }
    });
    return drawn;
  }

  // The point where lost message k ended: on its receiver's lane (it
  // reached a machine that was gone, or was dropped there), or a quarter of
  // the way from its sender (it never left), at the time it was lost.
  function lostEnd(k, g) {
    var r = lostRow[k];
    var from = g.ly(M.from[k]), to = g.ly(M.to[k]);
    var y = LOST.lane[r] === M.to[k] ? to : from + (to - from) * 0.25;
    return { x: g.tx(LOST.at_s[r]), y: y };
  }

  // Lost messages and the marks of the faults at a time, over the events.
  // `sendTime(k)` is message k's send time; returns what it drew.
  function foreground(ctx, g, sendTime) {
    var lost = 0, marks = 0;
    ctx.strokeStyle = LOST_LINE;
    ctx.lineWidth = 1.2;
    ctx.beginPath();
    var ends = [];
    LOST.k.forEach(function (k, r) {
      var ts = sendTime(k);
      if (ts > g.view[1] || LOST.at_s[r] < g.view[0]) return;
      var e = lostEnd(k, g);
      ctx.moveTo(g.tx(ts), g.ly(M.from[k]));
      ctx.lineTo(e.x, e.y);
      ends.push(e);
      lost++;
    });
    ctx.stroke();
    ends.forEach(function (e) { cross(ctx, e.x, e.y, 3.5, CRASH, 1.6); });
    FAULTS.forEach(function (f) {
      if (f.until_s !== null || f.from_s < g.view[0] || f.from_s > g.view[1]) return;
      var x = g.tx(f.from_s), y = g.ly(f.lanes[f.kind === "garbage" ? 1 : 0]);
      var untimed = f.timed ? "" : " (time not recorded)";
      if (f.kind === "crash") {
        cross(ctx, x, y, 9, CRASH, 3);
        label(ctx, "crashed" + untimed, x + 12, y - 12, CRASH);
      } else if (f.kind === "stop") {
        stopBar(ctx, x, y, 26);
        label(ctx, "stopped" + untimed, x + 6, y - 14, STOP);
      } else if (f.kind === "garbage") {
        diamond(ctx, x, y, 7);
        label(ctx, "garbage from machine " + f.lanes[0], x + 9, y + 20, GARBAGE);
      }
      marks++;
    });
    return { lost: lost, marks: marks };
  }

  // Legend entries for the kinds this run has.
  function legend(bar, before) {
    var kinds = {};
    FAULTS.forEach(function (f) { kinds[f.kind] = true; });
    function item(text, paint, colour) {
      var it = SM.el("span", { "class": "legend-item" });
      var c = SM.el("canvas");
      paint(SM.sizeCanvas(c, 22, 16));
      it.appendChild(c);
      it.appendChild(document.createTextNode(text));
      if (colour) it.style.color = colour;
      bar.insertBefore(it, before);
    }
    if (kinds.crash) item("crash", function (c) { cross(c, 11, 8, 5.5, CRASH, 2.5); });
    if (kinds.stop) item("stop", function (c) { stopBar(c, 11, 8, 14); });
    if (kinds.pause) item("pause", function (c) { c.fillStyle = PAUSE_FILL; c.fillRect(1, 1, 20, 14); });
    if (kinds.partition) item("partition", function (c) { hatch(c, 1, 1, 20, 14); });
    if (kinds.garbage) item("garbage", function (c) { diamond(c, 11, 8, 6); });
    if (LOST.k.length) {
      item("lost to a fault", function (c) {
        c.strokeStyle = LOST_LINE; c.lineWidth = 1.2;
        c.beginPath(); c.moveTo(1, 12); c.lineTo(16, 6); c.stroke();
        cross(c, 16, 6, 3.5, CRASH, 1.6);
      }, "#6b7580");
    }
  }

  // Until when message k, sent at `sent` and never received nor lost,
  // waited: the run's end, or its receiver's stop or crash (its inbox then).
  function waitedUntil(k, sent, runEnd) {
    var end = laneEnd[M.to[k]];
    return end === null || end === undefined ? runEnd : Math.max(sent, end);
  }

  // The words for message k when it was never received.
  function unreceived(k) {
    var r = lostRow[k];
    if (r === undefined) {
      var end = laneEnd[M.to[k]];
      return end === null || end === undefined ? "not received by the end of the run" :
        "not received: machine " + M.to[k] + " ended at " + end.toFixed(3) + " s with it in its inbox or on its way";
    }
    var f = FAULTS[LOST.fault[r]];
    return "lost at " + LOST.at_s[r].toFixed(3) + " s" + (f ? " (" + f.text + ")" : " (no recorded fault explains it)");
  }

  return {
    isLost: isLost, laneEnd: function (i) { return laneEnd[i]; }, lostEnd: lostEnd,
    background: background, foreground: foreground, legend: legend, unreceived: unreceived,
    waitedUntil: waitedUntil
  };
};
