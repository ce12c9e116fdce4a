// The causal past and future of an event on a trial's page, from the
// messages the page draws (each receive's send): what `analyze` rebuilds as
// vector clocks (causality.rs), asked of one event. On every lane the past
// is a prefix (its first `past[l] + 1` events) and the future a suffix
// (from `future[l]`), so a cone is two numbers per lane, and the events
// between are concurrent with the event. Finding a cone visits each event
// at most once: a lane's prefix is scanned only where it grew, for the
// receives that pull their sends into the past (and the suffix, for the
// sends that push their receives into the future).
window.SM.causal = function (lanes, M) {
  "use strict";
  var n = lanes.length;

  function lowerBound(a, lo, hi, v) {
    while (lo < hi) { var mid = (lo + hi) >> 1; if (a[mid] < v) lo = mid + 1; else hi = mid; }
    return lo;
  }

  // Event j of lane i's cone: `past[l]`, the last event of lane l that
  // happened before it (or is it), -1 for none; `future[l]`, the first that
  // it happened before (or is it), `lanes[l].n` for none.
  function cone(i, j) {
    var past = new Int32Array(n).fill(-1), future = new Int32Array(n);
    var scannedPast = new Int32Array(n).fill(-1), scannedFuture = new Int32Array(n);
    lanes.forEach(function (L, l) { future[l] = L.n; scannedFuture[l] = L.n; });
    past[i] = j;
    future[i] = j;
    var todo = [i];
    while (todo.length) {
      var l = todo.pop(), L = lanes[l];
      for (var e = scannedPast[l] + 1; e <= past[l]; e++) {
        var k = L.recvMsg[e];
        if (k < 0 || !lanes[M.from[k]]) continue;
        if (M.send[k] > past[M.from[k]]) { past[M.from[k]] = M.send[k]; todo.push(M.from[k]); }
      }
      scannedPast[l] = Math.max(scannedPast[l], past[l]);
    }
    todo = [i];
    while (todo.length) {
      l = todo.pop(); L = lanes[l];
      for (e = future[l]; e < scannedFuture[l]; e++) {
        for (k = L.firstMsg[e]; k >= 0 && k < M.from.length && M.from[k] === l && M.send[k] === e; k++) {
          var to = M.to[k], r = M.recv[k];
          if (r >= 0 && lanes[to] && r < future[to]) { future[to] = r; todo.push(to); }
        }
      }
      scannedFuture[l] = Math.min(scannedFuture[l], future[l]);
    }
    return { i: i, j: j, past: past, future: future };
  }

  // What a cone holds, the event itself left out: events in its past and
  // future, and the concurrent ones, split by how Lamport's clocks order
  // them against the event (clocks rise along a lane in a conforming run;
  // in a broken one the split is only as good as its clocks).
  function counts(c) {
    var out = { past: 0, future: 0, concurrent: 0, lamportBefore: 0, lamportAfter: 0, lamportTie: 0 };
    var clock = lanes[c.i].clock[c.j];
    lanes.forEach(function (L, l) {
      var lo = c.past[l] + 1, hi = c.future[l];
      out.past += lo;
      out.future += L.n - hi;
      if (l === c.i) { out.past -= 1; out.future -= 1; return; }
      var below = lowerBound(L.clock, lo, hi, clock) - lo;
      var upto = lowerBound(L.clock, lo, hi, clock + 0.5) - lo;
      out.concurrent += hi - lo;
      out.lamportBefore += below;
      out.lamportTie += upto - below;
      out.lamportAfter += hi - lo - upto;
    });
    return out;
  }

  return { cone: cone, counts: counts };
};
