#!/usr/bin/env python3
"""A minimal Python solution of the scale-model exercise, for comparison.

Written the way the exercise's notebook did it, so that scalemodel's figures
can be set beside a typical solution measured on the same machine in the same
go (see docs/PERFORMANCE.md): three processes, one per model machine, joined
over TCP on loopback; a thread per socket that reads messages into the
machine's queue; and a main loop that sleeps until each tick with
`time.sleep` and then takes a message or rolls the die.

Each machine starts ticking as soon as its links are up (there is no start
barrier, as in the notebook). Every tick is logged with its due and actual
time, so the same figures as scalemodel's timing come out, measured the same
way: the rate error (the measured tick rate against the nominal one), tick
lateness (p50 / p99 / max), the process's whole CPU time per tick, its peak
RSS, and the Unix times of its start and its first tick (`scalemodel bench`
turns those into start-up figures).

    python3 benches/python/exercise.py --duration 60 --rates 2,4,6 --out /tmp/py

prints one JSON object: the figures per machine. Only the standard library.
"""

import argparse
import json
import multiprocessing
import os
import queue
import random
import resource
import socket
import sys
import threading
import time


def reader(conn, sender, inbox):
    """Reads newline-delimited clocks from one peer into the inbox."""
    with conn, conn.makefile("r") as lines:
        for line in lines:
            inbox.put((sender, int(line)))


def machine(i, listener, ports, rate, seed, duration, out):
    """One model machine: listens, connects to its peers, ticks until the end."""
    started = time.time()
    rng = random.Random(seed * 3 + i)
    inbox = queue.Queue()
    peers = [p for p in range(3) if p != i]
    # Accept both peers, each named by the id it sends first.
    def accept():
        for _ in peers:
            conn, _ = listener.accept()
            sender = int(conn.recv(1))
            threading.Thread(target=reader, args=(conn, sender, inbox), daemon=True).start()
    acceptor = threading.Thread(target=accept, daemon=True)
    acceptor.start()
    out_socks = {}
    for p in peers:
        s = socket.create_connection(("127.0.0.1", ports[p]))
        s.sendall(str(i).encode())
        out_socks[p] = s
    acceptor.join()

    start = time.time()
    clock = 0
    log = []
    period = 1.0 / rate
    ticks = int(duration * rate)
    for k in range(ticks):
        due = start + k * period
        delay = due - time.time()
        if delay > 0:
            time.sleep(delay)
        now = time.time()
        try:
            _, msg = inbox.get_nowait()
            clock = max(clock, msg) + 1
            event = "receive"
        except queue.Empty:
            roll = rng.randint(1, 10)
            clock += 1
            targets = {1: [peers[0]], 2: [peers[1]], 3: peers}.get(roll, [])
            for p in targets:
                try:
                    out_socks[p].sendall(f"{clock}\n".encode())
                except OSError:
                    pass  # the peer ended its run a moment earlier
            event = "send" if targets else "internal"
        log.append((k, due, now, event, clock, inbox.qsize()))
    # The whole process's CPU time, set-up included, as scalemodel's nodes count it.
    cpu = time.process_time()
    for s in out_socks.values():
        s.close()
    with open(os.path.join(out, f"machine-{i}.csv"), "w") as f:
        f.write("tick,due_s,actual_s,event,clock,queue_len\n")
        for row in log:
            f.write("%d,%.9f,%.9f,%s,%d,%d\n" % row)
    late = sorted((now - due) * 1e6 for _, due, now, *_ in log)
    first, last = log[0][2], log[-1][2]
    measured = (len(log) - 1) / (last - first) if last > first else float("nan")
    pct = lambda p: late[min(len(late) - 1, max(0, int(-(-p * len(late) // 100)) - 1))]
    figures = {
        "machine": i,
        "rate": rate,
        "ticks": len(log),
        "rate_error_pct": (measured - rate) / rate * 100.0,
        "late_p50_us": pct(50),
        "late_p99_us": pct(99),
        "late_max_us": late[-1],
        "cpu_us_per_tick": cpu / len(log) * 1e6,
        "peak_rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        "started_unix_ns": int(started * 1e9),
        "first_tick_unix_ns": int(first * 1e9),
    }
    with open(os.path.join(out, f"figures-{i}.json"), "w") as f:
        json.dump(figures, f)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--duration", type=float, default=60.0)
    ap.add_argument("--rates", default="2,4,6", help="three rates, ticks per second")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", required=True, help="a new or empty folder")
    args = ap.parse_args()
    rates = [int(r) for r in args.rates.split(",")]
    if len(rates) != 3 or min(rates) < 1 or args.duration <= 0:
        sys.exit("error: --rates takes three rates of at least 1, --duration more than 0")
    os.makedirs(args.out, exist_ok=True)
    # Listening sockets made here, on port 0, and inherited: no port is guessed.
    listeners = []
    for _ in range(3):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        s.listen(2)
        listeners.append(s)
    ports = [s.getsockname()[1] for s in listeners]
    ctx = multiprocessing.get_context("fork")
    procs = [
        ctx.Process(target=machine, args=(i, listeners[i], ports, rates[i], args.seed, args.duration, args.out))
        for i in range(3)
    ]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=args.duration + 30)
        if p.is_alive():
            p.kill()
            sys.exit("error: a machine did not finish within 30 s of the end")
    figures = []
    for i in range(3):
        with open(os.path.join(args.out, f"figures-{i}.json")) as f:
            figures.append(json.load(f))
    print(json.dumps({"machines": figures}))


if __name__ == "__main__":
    main()
