// A trial's page: the space-time diagram (canvas), the clocks and inbox
// lengths as step plots and the drift (uPlot), the jump histogram (canvas).
// Every chart of model time shows one window: zooming one zooms them all.
(function () {
  "use strict";
  var started = performance.now();
  var SM = window.SM;
  var D = JSON.parse(document.getElementById("data").textContent);
  var KIND_NAMES = ["send", "receive", "internal"];
  var KIND_COLOURS = SM.kindColours;

  // ---- The data: the columns of differences, added back up (see html.rs).
  function predict(x, by) { return by > 0 ? Math.floor(x / by) : 0; }

  function decode(l) {
    var n = l.kinds.length;
    var L = {
      id: l.id, rate: l.rate, end: l.end, n: n, queue: l.queue, tail: l.tail, machine: l.machine,
      t: new Float64Array(n), modelNs: new Float64Array(n), tick: new Float64Array(n),
      line: new Float64Array(n), clock: new Float64Array(n), sys: new Float64Array(n),
      kind: new Uint8Array(n), firstMsg: new Int32Array(n).fill(-1), recvMsg: new Int32Array(n).fill(-1)
    };
    var line = 1, tick = -1, clock = 0;
    for (var i = 0; i < n; i++) {
      var ch = l.kinds.charCodeAt(i);
      L.kind[i] = ch === 115 ? 0 : ch === 114 ? 1 : 2;
      line = L.line[i] = line + 1 + l.line_d[i];
      tick = L.tick[i] = tick + 1 + l.tick_d[i];
      var model = L.modelNs[i] = predict(tick * 1e9, l.rate) + l.model_d[i];
      L.t[i] = model / 1e9;
      L.sys[i] = predict(model, D.speed) + l.system_d[i];
      clock = L.clock[i] = clock + l.clock_d[i];
    }
    return L;
  }

  var lanes = D.lanes.map(decode);
  SM.machines(lanes.length);
  var M = D.messages, nMsg = M.from.length;
  for (var k = 0; k < nMsg; k++) {
    var S = lanes[M.from[k]];
    if (S && S.firstMsg[M.send[k]] < 0) S.firstMsg[M.send[k]] = k;
    var R = lanes[M.to[k]];
    if (M.recv[k] >= 0 && R) R.recvMsg[M.recv[k]] = k;
  }
  // The faults, and the messages lost to them (faults.js).
  var F = SM.faults(D, lanes, M);
  // Each event's causal past and future (causal.js).
  var C = SM.causal(lanes, M);
  var PAST_BAND = "rgba(230, 159, 0, 0.30)", FUTURE_BAND = "rgba(0, 114, 178, 0.22)";
  var PAST_INK = "#a36a00", FUTURE_INK = "#0072b2", CONCURRENT_RING = "rgba(179, 38, 30, 0.8)";
  function sendTime(k) { return lanes[M.from[k]].t[M.send[k]]; }
  function recvTime(k) { return M.recv[k] >= 0 && lanes[M.to[k]] ? lanes[M.to[k]].t[M.recv[k]] : NaN; }

  var lastT = 0;
  lanes.forEach(function (L) { if (L.n) lastT = Math.max(lastT, L.t[L.n - 1]); });
  var runEnd = Math.max(D.duration_s, lastT);
  if (D.cutoff_s !== null) runEnd = Math.min(runEnd, Math.max(D.cutoff_s, lastT));
  var FULL = [0, runEnd > 0 ? runEnd : 1];

  function csvLine(L, i) {
    var system;
    try { system = (BigInt(D.start_ns) + BigInt(L.sys[i])).toString(); } catch (e) { system = "?"; }
    return [L.machine ? L.machine[i] : L.id, SM.int(L.tick[i]), SM.int(L.modelNs[i]), system,
      KIND_NAMES[L.kind[i]], SM.int(L.clock[i]), L.queue[i]].join(",") + "," + L.tail[i];
  }

  // ---- The page's sections, after the header.
  function section(title, note) {
    var s = SM.el("section");
    s.appendChild(SM.el("h2", {}, title));
    if (note) s.appendChild(SM.el("p", { "class": "note" }, note));
    document.body.insertBefore(s, document.getElementById("data"));
    return s;
  }

  // ---- The window of model time every chart shows.
  var view = FULL.slice();
  var charts = [];
  var syncing = false;

  function setWindow(lo, hi, from) {
    var span = Math.min(FULL[1] - FULL[0], Math.max(0.02, hi - lo));
    lo = Math.max(FULL[0], Math.min(lo, FULL[1] - span));
    view = [lo, lo + span];
    diagram.schedule();
    syncing = true;
    charts.forEach(function (c) {
      if (c !== from) c.setScale("x", { min: view[0], max: view[1] });
    });
    syncing = false;
  }

  // ---- The space-time diagram.
  var diagram = (function () {
    var s = section("Space-time diagram",
      "One lane per machine, model time to the right; each message is an arrow from its send to its receive. " +
      "Wheel to zoom, drag to pan; hover an event for its log line, a receive for its message and the jump it caused, " +
      "and its causal past (orange: the events that happened before it, and their messages) and future (blue: those it happened before). " +
      "The faded events between are concurrent with it; where they are drawn one by one, a red ring marks each: " +
      "Lamport's order puts every one of them before or after the event, where causality puts neither.");
    var bar = SM.el("div", { "class": "toolbar" });
    var reset = SM.el("button", { type: "button" }, "Reset zoom");
    reset.addEventListener("click", function () { setWindow(FULL[0], FULL[1], null); });
    bar.appendChild(reset);
    [0, 1, 2].forEach(function (k) {
      var item = SM.el("span", { "class": "legend-item" });
      var c = SM.el("canvas");
      var ctx = SM.sizeCanvas(c, 14, 14);
      mark(ctx, k, 7, 7, 1);
      item.appendChild(c);
      item.appendChild(document.createTextNode(KIND_NAMES[k]));
      bar.appendChild(item);
    });
    var msgItem = SM.el("span", { "class": "legend-item" }, "→ message");
    msgItem.style.color = "#6b7580";
    bar.appendChild(msgItem);
    var lostItem = SM.el("span", { "class": "legend-item" }, "⇢ not received by the end");
    lostItem.style.color = "#6b7580";
    bar.appendChild(lostItem);
    var where = SM.el("span", { "class": "note" });
    bar.appendChild(where);
    F.legend(bar, where);
    s.appendChild(bar);
    var host = SM.el("div", { "class": "diagram" });
    s.appendChild(host);
    var base = SM.el("canvas"), over = SM.el("canvas", { "class": "overlay" });
    host.appendChild(base);
    host.appendChild(over);
    var tip = SM.tip(host);

    // Lanes of 100 px for three machines, narrower for more: sixteen fit
    // in 640 px, each tall enough for its two lines of label.
    var LANE = lanes.length <= 3 ? 100 : Math.max(40, Math.round(400 / lanes.length));
    var LEFT = 132, RIGHT = 16, TOP = 16, AXIS = 34, PAD = 8;
    var W = 0, H = TOP + LANE * lanes.length + AXIS, bctx, octx;
    var counts = null, pending = false, hover = null;

    function resize() {
      W = Math.max(400, host.clientWidth || 1000);
      host.style.height = H + "px";
      bctx = SM.sizeCanvas(base, W, H);
      octx = SM.sizeCanvas(over, W, H);
    }
    function x0() { return LEFT + PAD; }
    function plotW() { return Math.max(10, W - LEFT - RIGHT - 2 * PAD); }
    function tx(t) { return x0() + (t - view[0]) / (view[1] - view[0]) * plotW(); }
    function xt(x) { return view[0] + (x - x0()) / plotW() * (view[1] - view[0]); }
    function ly(i) { return TOP + LANE * i + LANE / 2; }
    function geometry() { return { tx: tx, ly: ly, lane: LANE, view: view }; }
    // Where lane i's line stops: at its machine's crash or stop, if any.
    function laneStop(i) {
      var end = F.laneEnd(i);
      return end === null ? W - RIGHT : Math.max(LEFT, Math.min(W - RIGHT, tx(end)));
    }

    // An event's mark: send ▲, receive ●, internal ■.
    function mark(ctx, kind, x, y, scale) {
      ctx.fillStyle = KIND_COLOURS[kind];
      ctx.beginPath();
      if (kind === 0) {
        ctx.moveTo(x, y - 6 * scale); ctx.lineTo(x + 5.5 * scale, y + 4 * scale); ctx.lineTo(x - 5.5 * scale, y + 4 * scale);
        ctx.closePath();
      } else if (kind === 1) {
        ctx.arc(x, y, 4.5 * scale, 0, 2 * Math.PI);
      } else {
        ctx.rect(x - 3.5 * scale, y - 3.5 * scale, 7 * scale, 7 * scale);
      }
      ctx.fill();
    }

    function lowerBound(a, v) {
      var lo = 0, hi = a.length;
      while (lo < hi) { var mid = (lo + hi) >> 1; if (a[mid] < v) lo = mid + 1; else hi = mid; }
      return lo;
    }

    function arrowHead(ctx, xa, ya, xb, yb, size) {
      var a = Math.atan2(yb - ya, xb - xa);
      ctx.moveTo(xb, yb);
      ctx.lineTo(xb - size * Math.cos(a - 0.4), yb - size * Math.sin(a - 0.4));
      ctx.moveTo(xb, yb);
      ctx.lineTo(xb - size * Math.cos(a + 0.4), yb - size * Math.sin(a + 0.4));
    }

    function draw() {
      pending = false;
      var ctx = bctx;
      ctx.clearRect(0, 0, W, H);
      var span = view[1] - view[0];
      var step = SM.ticks(view[0], view[1], Math.max(2, Math.floor(plotW() / SM.TIME_TICK_PX)));
      ctx.font = "12px system-ui, sans-serif";
      ctx.textBaseline = "middle";
      ctx.textAlign = "center";
      ctx.strokeStyle = "#eceff2";
      ctx.fillStyle = "#3b434b";
      ctx.lineWidth = 1;
      var stepSize = step.length > 1 ? step[1] - step[0] : span;
      step.forEach(function (v) {
        var x = Math.round(tx(v)) + 0.5;
        ctx.beginPath(); ctx.moveTo(x, TOP); ctx.lineTo(x, H - AXIS); ctx.stroke();
        ctx.fillText(SM.tickLabel(v, stepSize), x, H - AXIS + 12);
      });
      ctx.fillText("model time (s)", x0() + plotW() / 2, H - 9);
      ctx.textAlign = "right";
      lanes.forEach(function (L, i) {
        ctx.strokeStyle = "#b9c0c7";
        ctx.beginPath(); ctx.moveTo(LEFT, ly(i) + 0.5); ctx.lineTo(laneStop(i), ly(i) + 0.5); ctx.stroke();
        ctx.fillStyle = SM.colour(L.id);
        ctx.font = "bold 13px system-ui, sans-serif";
        ctx.fillText("machine " + L.id + " (" + L.rate + "/s)", LEFT - 10, ly(i) - 7);
        ctx.font = "11px system-ui, sans-serif";
        ctx.fillStyle = L.end === "completed" ? "#5b6570" : "#b3261e";
        ctx.fillText(L.end, LEFT - 10, ly(i) + 9);
      });
      ctx.save();
      ctx.beginPath(); ctx.rect(LEFT, 0, W - LEFT - RIGHT, H - AXIS); ctx.clip();
      var faultSpans = F.background(ctx, geometry());

      // Messages in the window.
      var drawn = 0, unreceived = 0, shown = [];
      for (var k = 0; k < nMsg; k++) {
        var ts = sendTime(k), tr = recvTime(k);
        if (isNaN(tr)) {
          if (ts <= view[1]) unreceived++;
          continue;
        }
        if (Math.min(ts, tr) <= view[1] && Math.max(ts, tr) >= view[0]) shown.push(k);
      }
      var many = shown.length > 1500;
      ctx.strokeStyle = many ? "rgba(80, 90, 100, 0.15)" : "rgba(80, 90, 100, 0.7)";
      ctx.lineWidth = 1;
      ctx.beginPath();
      shown.forEach(function (k) {
        var xa = tx(sendTime(k)), ya = ly(M.from[k]), xb = tx(recvTime(k)), yb = ly(M.to[k]);
        ctx.moveTo(xa, ya); ctx.lineTo(xb, yb);
        if (!many) arrowHead(ctx, xa, ya, xb, yb, 7);
      });
      ctx.stroke();
      drawn = shown.length;
      // Messages never received, and not lost to a fault: dashed, to the
      // receiver's lane at the end (of the run, or of its stopped lane).
      var lost = 0;
      for (k = 0; k < nMsg; k++) if (isNaN(recvTime(k)) && sendTime(k) <= view[1] && !F.isLost(k)) lost++;
      ctx.setLineDash([4, 4]);
      // Thousands of them (a slow machine's backlog) would hide the lanes.
      ctx.strokeStyle = lost > 300 ? "rgba(179, 38, 30, 0.06)" : "rgba(179, 38, 30, 0.35)";
      ctx.beginPath();
      for (k = 0; k < nMsg; k++) {
        if (!isNaN(recvTime(k)) || sendTime(k) > view[1] || F.isLost(k)) continue;
        var xs = tx(sendTime(k)), ys = ly(M.from[k]), xe = tx(F.waitedUntil(k, sendTime(k), runEnd)), ye = ly(M.to[k]);
        ctx.moveTo(xs, ys); ctx.lineTo(xe, ye);
        if (!many) arrowHead(ctx, xs, ys, xe, ye, 7);
      }
      ctx.stroke();
      ctx.setLineDash([]);

      // Events in the window: one mark each, or when closer than 4 px, one
      // tick per pixel column and kind.
      var events = 0, marks = 0;
      lanes.forEach(function (L, i) {
        var a = lowerBound(L.t, view[0] - span * 0.01), b = lowerBound(L.t, view[1] + span * 0.01);
        var inside = lowerBound(L.t, view[1]) - lowerBound(L.t, view[0]);
        var lo = lowerBound(L.t, view[0]);
        for (var j = lo; j < L.n && L.t[j] <= view[1]; j++) events++;
        if (inside <= plotW() / 4) {
          for (j = a; j < b; j++) { mark(ctx, L.kind[j], tx(L.t[j]), ly(i), 1); marks++; }
          return;
        }
        var cols = Math.ceil(plotW()) + 2, seen = [new Uint8Array(cols), new Uint8Array(cols), new Uint8Array(cols)];
        for (j = a; j < b; j++) {
          var c = Math.round(tx(L.t[j]) - x0());
          if (c >= 0 && c < cols) seen[L.kind[j]][c] = 1;
        }
        for (var kind = 0; kind < 3; kind++) {
          ctx.fillStyle = KIND_COLOURS[kind];
          for (c = 0; c < cols; c++) {
            if (seen[kind][c]) { ctx.fillRect(x0() + c - 0.5, ly(i) - 10 + kind * 7, 1.5, 6); marks++; }
          }
        }
      });
      var fault = F.foreground(ctx, geometry(), sendTime);
      ctx.restore();
      where.textContent = "showing " + view[0].toFixed(3) + "–" + view[1].toFixed(3) + " s: " +
        events + " events, " + drawn + " messages";
      if (counts === null) {
        counts = {
          events: events, marks: marks, messages: drawn, unreceived: unreceived,
          lost: fault.lost, faults: fault.marks + faultSpans
        };
      }
      drawHover();
    }

    function schedule() {
      if (!pending) { pending = true; requestAnimationFrame(draw); }
    }

    // The event under (x, y), as [lane, index], or null.
    function pick(x, y) {
      var i = Math.round((y - TOP - LANE / 2) / LANE);
      if (i < 0 || i >= lanes.length || Math.abs(y - ly(i)) > LANE / 2 - 4) return null;
      var L = lanes[i], t = xt(x), j = lowerBound(L.t, t);
      var best = -1, bestDx = 8;
      [j - 1, j].forEach(function (c) {
        if (c >= 0 && c < L.n && Math.abs(tx(L.t[c]) - x) <= bestDx) { best = c; bestDx = Math.abs(tx(L.t[c]) - x); }
      });
      return best < 0 ? null : [i, best];
    }

    function highlightMessage(ctx, k) {
      var xa = tx(sendTime(k)), ya = ly(M.from[k]);
      var tr = recvTime(k), xb = isNaN(tr) ? tx(F.waitedUntil(k, sendTime(k), runEnd)) : tx(tr), yb = ly(M.to[k]);
      if (F.isLost(k)) { var e = F.lostEnd(k, geometry()); xb = e.x; yb = e.y; }
      ctx.strokeStyle = KIND_COLOURS[1];
      ctx.lineWidth = 3;
      ctx.beginPath(); ctx.moveTo(xa, ya); ctx.lineTo(xb, yb); arrowHead(ctx, xa, ya, xb, yb, 11); ctx.stroke();
      ring(ctx, xa, ya);
      if (!isNaN(tr)) ring(ctx, xb, yb);
    }
    function ring(ctx, x, y) {
      ctx.strokeStyle = "#111";
      ctx.lineWidth = 2;
      ctx.beginPath(); ctx.arc(x, y, 8, 0, 2 * Math.PI); ctx.stroke();
    }

    // The hovered event's cone and its counts, kept while it stays hovered.
    var cone = null;
    function coneOf(i, j) {
      if (!cone || cone.i !== i || cone.j !== j) {
        cone = C.cone(i, j);
        cone.counts = C.counts(cone);
        var c = cone.counts;
        // For the browser test: what the page found for the hovered event.
        document.body.dataset.cone = [i, j, c.past, c.future, c.concurrent,
          c.lamportBefore, c.lamportTie, c.lamportAfter].join(" ");
      }
      return cone;
    }

    // The cone of the hovered event over a faded diagram: a band along
    // each lane's past and future, their messages and events drawn again.
    function drawCone(ctx, c) {
      ctx.fillStyle = "rgba(255, 255, 255, 0.72)";
      ctx.fillRect(LEFT, 0, W - LEFT - RIGHT, H - AXIS);
      var span = view[1] - view[0];
      lanes.forEach(function (L, l) {
        if (!L.n) return;
        var y = ly(l) - 9;
        if (c.past[l] >= 0) {
          ctx.fillStyle = PAST_BAND;
          ctx.fillRect(tx(L.t[0]) - 4, y, tx(L.t[c.past[l]]) - tx(L.t[0]) + 8, 18);
        }
        if (c.future[l] < L.n) {
          ctx.fillStyle = FUTURE_BAND;
          ctx.fillRect(tx(L.t[c.future[l]]) - 4, y, tx(L.t[L.n - 1]) - tx(L.t[c.future[l]]) + 8, 18);
        }
      });
      [[PAST_INK, function (k) { return M.recv[k] >= 0 && M.recv[k] <= c.past[M.to[k]]; }],
        [FUTURE_INK, function (k) { return M.recv[k] >= 0 && M.send[k] >= c.future[M.from[k]]; }]].forEach(function (p) {
        ctx.strokeStyle = p[0];
        ctx.lineWidth = 1.5;
        ctx.beginPath();
        for (var k = 0; k < nMsg; k++) {
          if (!lanes[M.to[k]] || !p[1](k)) continue;
          var ts = sendTime(k), tr = recvTime(k);
          if (Math.max(ts, tr) < view[0] || Math.min(ts, tr) > view[1]) continue;
          var xa = tx(ts), ya = ly(M.from[k]), xb = tx(tr), yb = ly(M.to[k]);
          ctx.moveTo(xa, ya); ctx.lineTo(xb, yb); arrowHead(ctx, xa, ya, xb, yb, 7);
        }
        ctx.stroke();
      });
      lanes.forEach(function (L, l) {
        var a = lowerBound(L.t, view[0] - span * 0.01), b = lowerBound(L.t, view[1] + span * 0.01);
        var few = lowerBound(L.t, view[1]) - lowerBound(L.t, view[0]) <= plotW() / 4;
        for (var e = a; e < b; e++) {
          var x = tx(L.t[e]), y = ly(l);
          if (e <= c.past[l] || e >= c.future[l]) {
            if (few) mark(ctx, L.kind[e], x, y, 1);
            else { ctx.fillStyle = KIND_COLOURS[L.kind[e]]; ctx.fillRect(x - 0.5, y - 10 + L.kind[e] * 7, 1.5, 6); }
          } else if (few) {
            ctx.strokeStyle = CONCURRENT_RING;
            ctx.lineWidth = 1.5;
            ctx.beginPath(); ctx.arc(x, y, 7, 0, 2 * Math.PI); ctx.stroke();
          }
        }
      });
    }

    function drawHover() {
      octx.clearRect(0, 0, W, H);
      if (!hover) return;
      var L = lanes[hover[0]], j = hover[1];
      octx.save();
      octx.beginPath(); octx.rect(LEFT, 0, W - LEFT - RIGHT, H - AXIS); octx.clip();
      drawCone(octx, coneOf(hover[0], j));
      ring(octx, tx(L.t[j]), ly(hover[0]));
      if (L.recvMsg[j] >= 0) highlightMessage(octx, L.recvMsg[j]);
      for (var k = L.firstMsg[j]; k >= 0 && k < nMsg && M.from[k] === L.id && M.send[k] === j; k++) highlightMessage(octx, k);
      octx.restore();
    }

    function describe(i, j) {
      var L = lanes[i];
      var out = [
        "machine-" + L.id + ".csv line " + SM.int(L.line[j]) + " (model time " + L.t[j].toFixed(3) + " s)",
        { mono: true, text: csvLine(L, j) }
      ];
      var before = j > 0 ? L.clock[j - 1] : 0, change = L.clock[j] - before;
      var jump = "clock " + SM.int(before) + " → " + SM.int(L.clock[j]) + ": " +
        (change > 1 ? "a jump of +" + SM.int(change) : change === 1 ? "+1, no jump" : "a change of " + SM.int(change));
      var k = L.recvMsg[j];
      if (L.kind[j] === 1) {
        if (k >= 0) {
          out.push("received from machine " + M.from[k] + ", sent at " + sendTime(k).toFixed(3) +
            " s (line " + SM.int(lanes[M.from[k]].line[M.send[k]]) + " of machine-" + M.from[k] + ".csv), " +
            "carrying clock " + SM.int(lanes[M.from[k]].clock[M.send[k]]) + "; waited " +
            (L.t[j] - sendTime(k)).toFixed(3) + " s");
        } else {
          out.push("its send is not in the logs");
        }
      }
      for (k = L.firstMsg[j]; k >= 0 && k < nMsg && M.from[k] === L.id && M.send[k] === j; k++) {
        var tr = recvTime(k);
        out.push("to machine " + M.to[k] + ": " + (isNaN(tr) ? F.unreceived(k) :
          "received at " + tr.toFixed(3) + " s (line " + SM.int(lanes[M.to[k]].line[M.recv[k]]) + " of machine-" + M.to[k] + ".csv)"));
      }
      out.push(jump);
      var c = coneOf(i, j).counts;
      out.push("causal past " + SM.int(c.past) + " events, future " + SM.int(c.future) + "; concurrent " +
        SM.int(c.concurrent) + ", which Lamport's clocks put before it (" + SM.int(c.lamportBefore) + "), level (" +
        SM.int(c.lamportTie) + ") or after it (" + SM.int(c.lamportAfter) + ")");
      return out;
    }

    var drag = null;
    over.addEventListener("wheel", function (e) {
      e.preventDefault();
      var t = xt(e.offsetX), f = Math.exp(Math.max(-300, Math.min(300, e.deltaY)) * 0.002);
      setWindow(t - (t - view[0]) * f, t + (view[1] - t) * f, null);
    }, { passive: false });
    over.addEventListener("pointerdown", function (e) {
      drag = { x: e.clientX, view: view.slice() };
      over.setPointerCapture(e.pointerId);
      over.classList.add("dragging");
      tip.hide();
    });
    over.addEventListener("pointerup", function (e) {
      drag = null;
      over.classList.remove("dragging");
      if (over.hasPointerCapture(e.pointerId)) over.releasePointerCapture(e.pointerId);
    });
    over.addEventListener("pointermove", function (e) {
      if (drag) {
        var dt = (e.clientX - drag.x) / plotW() * (drag.view[1] - drag.view[0]);
        setWindow(drag.view[0] - dt, drag.view[1] - dt, null);
        return;
      }
      var h = pick(e.offsetX, e.offsetY);
      hover = h;
      drawHover();
      pointCharts(h ? lanes[h[0]].t[h[1]] : NaN);
      if (h) tip.show(describe(h[0], h[1]), e.offsetX, e.offsetY); else tip.hide();
    });
    over.addEventListener("pointerleave", function () { hover = null; drawHover(); pointCharts(NaN); tip.hide(); });

    // The charts' cursors at model time t (their legends then read every
    // machine's clock and inbox there), or hidden for NaN.
    function pointCharts(t) {
      charts.forEach(function (c) {
        var left = isNaN(t) ? -10 : c.valToPos(t, "x");
        c.setCursor({ left: left, top: isNaN(t) ? -10 : 10 });
      });
    }

    // Shows event j of lane i as if hovered: for `#hover=i,j` in the address.
    function hoverEvent(i, j) {
      if (!lanes[i] || !(j >= 0 && j < lanes[i].n)) return;
      if (lanes[i].t[j] < view[0] || lanes[i].t[j] > view[1]) {
        var span = view[1] - view[0];
        setWindow(lanes[i].t[j] - span / 2, lanes[i].t[j] + span / 2, null);
        draw();
      }
      hover = [i, j];
      drawHover();
      pointCharts(lanes[i].t[j]);
      tip.show(describe(i, j), tx(lanes[i].t[j]), ly(i));
    }

    resize();
    return {
      draw: draw, schedule: schedule, counts: function () { return counts; }, hoverEvent: hoverEvent,
      resize: function () { resize(); draw(); }, width: function () { return W; },
      // CSS px from the frame's outer edges to the time axis's ends, and the
      // frame's outer width: the charts below take the same.
      insets: function () { return [host.clientLeft + x0(), host.clientLeft + W - x0() - plotW()]; },
      outerWidth: function () { return W + 2 * host.clientLeft; },
      stale: function () { return Math.max(400, host.clientWidth || 1000) !== W; },
      // Page x (CSS px) of model time t, for the browser test.
      pageX: function (t) { return base.getBoundingClientRect().left + tx(t); }
    };
  })();

  // ---- Step plots of clocks and inbox lengths, and the drift (uPlot).
  // Each machine's value at each of the union of event times; null where it
  // has no event, bridged by a post-step path: a value holds until the next.
  function aligned(value) {
    var idx = lanes.map(function () { return 0; });
    var xs = [], ys = lanes.map(function () { return []; });
    for (;;) {
      var t = Infinity;
      lanes.forEach(function (L, i) { if (idx[i] < L.n) t = Math.min(t, L.t[idx[i]]); });
      if (t === Infinity) break;
      xs.push(t);
      lanes.forEach(function (L, i) {
        if (idx[i] < L.n && L.t[idx[i]] === t) {
          while (idx[i] + 1 < L.n && L.t[idx[i] + 1] === t) idx[i]++;
          ys[i].push(value(L, idx[i]));
          idx[i]++;
        } else {
          ys[i].push(null);
        }
      });
    }
    // Hold each last value to the end of the run.
    if (xs.length && runEnd > xs[xs.length - 1]) {
      xs.push(runEnd);
      lanes.forEach(function (L, i) { ys[i].push(L.n ? value(L, L.n - 1) : null); });
    }
    return [xs].concat(ys);
  }

  var stepped = uPlot.paths.stepped({ align: 1 });
  var LABEL_PX = 20;
  function chartPadding() { return [12, diagram.insets()[1], 0, 0]; }
  function chart(title, note, yLabel, data, series, height) {
    var s = section(title, note);
    var host = SM.el("div", { "class": "chart" });
    s.appendChild(host);
    var opts = {
      width: diagram.outerWidth(),
      height: height || 260,
      padding: chartPadding(),
      scales: { x: { time: false } },
      cursor: { sync: { key: "model-time" }, drag: { x: true, y: false }, y: false },
      legend: { live: true },
      axes: [
        SM.timeAxis(LABEL_PX),
        { label: yLabel, labelSize: LABEL_PX, size: diagram.insets()[0] - LABEL_PX, incrs: SM.countIncrs }
      ],
      series: [{ label: "model time (s)", value: function (u, v) { return v === null ? "–" : v.toFixed(3); } }].concat(series),
      hooks: {
        setScale: [function (u, key) {
          if (key === "x" && !syncing && u.scales.x.min !== null) setWindow(u.scales.x.min, u.scales.x.max, u);
        }]
      }
    };
    syncing = true;
    var u = new uPlot(opts, data, host);
    syncing = false;
    charts.push(u);
    return u;
  }
  function machineSeries(L, stepPath) {
    return {
      label: "machine " + L.id + " (" + L.rate + "/s)",
      stroke: SM.colour(L.id), width: SM.width(L.id), dash: SM.dash(L.id),
      paths: stepPath ? stepped : undefined, spanGaps: true, points: { show: false },
      value: function (u, v) { return v === null ? "–" : SM.int(v); }
    };
  }
  var idNote = "Click a machine in the legend to hide or show it; drag across the plot to zoom (all charts of time follow), double-click to reset. " +
    (lanes.length <= 3 ? "Machines with the same values draw over each other: wide, middle and narrow lines nest, so each stays visible." :
      lanes.length > SM.solid ? "Machines from " + SM.solid + " on draw dashed, where colours alone come close." : "");
  chart("Logical clocks", "Each machine's Lamport clock after each event. " + idNote, "Lamport clock",
    aligned(function (L, i) { return L.clock[i]; }), lanes.map(function (L) { return machineSeries(L, true); }));
  var growth = (D.growth || []).map(function (g, i) {
    var m = Number(g[0]) || 0, p = Number(g[1]) || 0, load = Number(g[2]) || 0;
    var critical = load >= 0.9 && load <= 1.1 ? ", critical: near 1 the inbox wanders" : "";
    return "machine " + i + ": " + SM.fixed(m, 3, true) + " msgs/s (predicted " + SM.fixed(p, 2) + " at load " + SM.fixed(load, 2) + critical + ")";
  }).join("; ");
  chart("Inbox lengths", "Messages left in each machine's inbox after each event. Growth " + growth + ".", "messages",
    aligned(function (L, i) { return L.queue[i]; }), lanes.map(function (L) { return machineSeries(L, true); }));

  // ---- Drift behind the fastest machine.
  var others = lanes.filter(function (L) { return L.id !== D.fastest; });
  chart("Drift behind the fastest machine",
    "How far each clock trails " + D.drift_reference + " (rate " + (lanes[D.fastest] ? lanes[D.fastest].rate : "?") +
    "/s), at the same model time, sampled " + (D.drift.t.length - 1) + " times over the run.", "clock units",
    [D.drift.t].concat(others.map(function (L) { return D.drift.gaps[L.id]; })),
    others.map(function (L) { return machineSeries(L, false); }), 220);

  // ---- First draw, at full view, and what it drew for the browser test.
  setWindow(FULL[0], FULL[1], null);
  function fit() {
    diagram.resize();
    charts.forEach(function (c) { c.setSize({ width: diagram.outerWidth(), height: c.height }); });
  }
  // The diagram was sized before the charts below it made the page scroll:
  // a scroll bar narrows it, and the charts must keep its pixel columns.
  if (diagram.stale()) fit(); else diagram.draw();
  window.addEventListener("resize", fit);

  // ---- The jump histogram (jumps.js), at the width the diagram settled on.
  window.SM.jumps(section, D, lanes, diagram.width());
  var n = diagram.counts();
  var ds = document.body.dataset;
  ds.events = String(n.events);
  ds.marks = String(n.marks);
  ds.messages = String(n.messages);
  ds.unreceived = String(n.unreceived);
  ds.lost = String(n.lost);
  ds.faults = String(n.faults);
  ds.eventsEmbedded = String(D.events_embedded);
  ds.eventsTotal = String(D.events_total);
  // The colours the clocks chart drew each machine in, for the browser test.
  ds.machineColours = charts[0].series.slice(1).map(function (s, i) {
    return typeof s.stroke === "function" ? s.stroke(charts[0], i + 1) : s.stroke;
  }).join(" ");
  ds.loadMs = String(Math.round(performance.now() - started));
  ds.readyMs = String(Math.round(performance.now()));

  // `#zoom=a,b` and `#hover=lane,index` in the address: a view to link to
  // (and to screenshot in tests).
  var hash = {};
  location.hash.replace(/^#/, "").split("&").forEach(function (kv) {
    var p = kv.split("=");
    if (p.length === 2) hash[p[0]] = p[1].split(",").map(Number);
  });
  if (hash.zoom && hash.zoom.length === 2 && hash.zoom.every(isFinite)) {
    setWindow(hash.zoom[0], hash.zoom[1], null);
    diagram.draw();
  }
  // After uPlot has committed the new scales (it does so in a microtask).
  Promise.resolve().then(function () {
    // Where the view's start, middle and end fall on the diagram and on
    // each chart, for the browser test: one time, one pixel column.
    ds.timeX = [0, 0.5, 1].map(function (f) {
      var t = view[0] + f * (view[1] - view[0]);
      return [diagram.pageX(t)].concat(charts.map(function (c) {
        return c.over.getBoundingClientRect().left + c.valToPos(t, "x");
      })).map(function (x) { return x.toFixed(1); }).join(" ");
    }).join(",");
    if (hash.hover && hash.hover.length === 2) diagram.hoverEvent(hash.hover[0], hash.hover[1]);
    ds.ready = "1";
  });
})();
