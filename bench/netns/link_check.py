#!/usr/bin/python3
"""TCP goodput and round-trip time between two emulated hosts (docs/scaling.md).

  link_check.py serve PORT
      accepts connections: answers each 1-byte ping with 1 byte, and reads
      bulk streams to the end, replying with the byte count.
  link_check.py measure HOST PORT [--seconds=S] [--streams=N] [--pings=N]
      prints `rtt_ms=` (median of N 1-byte ping-pongs on one connection) and
      `goodput_bytes_per_sec=` (N parallel streams for S seconds, counted by
      the receiver), the figures the scaling model takes as latency and link
      bandwidth (bench/scaling_model.py).

bench/netns/netns_lib.sh runs the two ends in two hosts' namespaces.
"""

import argparse
import socket
import statistics
import sys
import threading
import time

CHUNK = 1 << 20


def serve(port):
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("0.0.0.0", port))
    listener.listen(64)
    print("listening", flush=True)

    def handle(conn):
        with conn:
            kind = conn.recv(1)
            if kind == b"p":  # pings: echo every byte
                conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                while True:
                    b = conn.recv(1)
                    if not b:
                        return
                    conn.sendall(b)
            elif kind == b"b":  # bulk: count until the sender shuts down
                total = 0
                buf = bytearray(CHUNK)
                view = memoryview(buf)
                while True:
                    n = conn.recv_into(view)
                    if n == 0:
                        break
                    total += n
                conn.sendall(str(total).encode())

    while True:
        conn, _ = listener.accept()
        threading.Thread(target=handle, args=(conn,), daemon=True).start()


def connect(host, port, kind):
    deadline = time.time() + 10
    while True:
        try:
            s = socket.create_connection((host, port), timeout=30)
            break
        except OSError:
            if time.time() > deadline:
                raise
            time.sleep(0.1)
    s.sendall(kind)
    return s


def measure(host, port, seconds, streams, pings):
    s = connect(host, port, b"p")
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    rtts = []
    for _ in range(pings):
        t = time.perf_counter()
        s.sendall(b"x")
        if s.recv(1) != b"x":
            sys.exit("link_check: ping not echoed")
        rtts.append(time.perf_counter() - t)
    s.close()

    totals = [0] * streams
    payload = b"\0" * CHUNK

    def bulk(i, end):
        c = connect(host, port, b"b")
        while time.perf_counter() < end:
            c.sendall(payload)
        c.shutdown(socket.SHUT_WR)
        totals[i] = int(c.recv(64).decode())
        c.close()

    start = time.perf_counter()
    end = start + seconds
    threads = [threading.Thread(target=bulk, args=(i, end)) for i in range(streams)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    print(f"rtt_ms={1000 * statistics.median(rtts):.3f} "
          f"goodput_bytes_per_sec={sum(totals) / elapsed:.0f} "
          f"goodput_mbit={8 * sum(totals) / elapsed / 1e6:.1f} streams={streams} seconds={elapsed:.2f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    s = sub.add_parser("serve")
    s.add_argument("port", type=int)
    m = sub.add_parser("measure")
    m.add_argument("host")
    m.add_argument("port", type=int)
    m.add_argument("--seconds", type=float, default=3.0)
    m.add_argument("--streams", type=int, default=1)
    m.add_argument("--pings", type=int, default=50)
    args = parser.parse_args()
    if args.command == "serve":
        if not 0 < args.port < 65536:
            parser.error(f"port {args.port}: want 1-65535")
        serve(args.port)
    else:
        if args.seconds <= 0 or args.streams < 1 or args.pings < 1:
            parser.error("--seconds must be > 0, --streams and --pings >= 1")
        measure(args.host, args.port, args.seconds, args.streams, args.pings)


if __name__ == "__main__":
    main()
