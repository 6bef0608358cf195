"""linkproxy.py — an emulated wide-area link in front of a local server, for
the bench: queueing behind a bulk flow, cold connections and slow start are
visible, as on a real path. It touches no network interface.

    $ /usr/bin/python3 tests/bench/linkproxy.py --rtt-ms 20 --rate 200mbit
    linkproxy: listening on 127.0.0.1:41234        (then, on stdin:)
    upstream 127.0.0.1:8080

The model, per direction, shared by every connection:
  - one FIFO bottleneck that sends `rate` bytes per second, with a drop-tail
    queue of `--queue-kb` (default: one bandwidth-delay product);
  - per connection, a TCP-like sender: the congestion window starts at 10
    segments, grows by what is acknowledged (slow start: doubling per round
    trip) until the first loss, then by one segment per round trip (Reno); a
    full queue is a loss, which halves it (once per round trip); after more
    than one RTO (200 ms + RTT) with nothing in flight it is halved per RTO,
    down to the initial window (Linux's slow start after idle);
  - the receiver's window is the real one of the peer: the free space its
    socket advertises to this proxy (TCP_INFO tcpi_snd_wnd), so a client that
    stops reading, or sets a small SO_RCVBUF, limits what is in flight;
  - a connection's first byte goes out one RTT after it was accepted (the
    handshake); bytes reach the other side RTT/2 after they leave the
    bottleneck and are acknowledged RTT/2 after that.
Prints "linkproxy: listening on HOST:PORT", reads "upstream HOST:PORT" from
stdin, and serves until stdin closes or SIGTERM.
"""
import argparse
import asyncio
import fcntl
import signal
import socket
import struct
import sys

MSS = 1448
SEGMENT = 16 * 1024             # bytes handed to the bottleneck at a time
INITIAL_WINDOW = 10 * MSS
SOURCE_HIGH = 1 << 20           # stop reading a source with this much unsent (its socket buffer)
SOURCE_LOW = 256 << 10
TCP_INFO_SND_WND = 228          # offsetof(struct tcp_info, tcpi_snd_wnd) on Linux >= 5.4
SIOCOUTQ = 0x5411


def parse_rate(s):
    units = {"": 1, "b": 1, "kbit": 1e3 / 8, "mbit": 1e6 / 8, "gbit": 1e9 / 8,
             "kb": 1e3, "mb": 1e6, "gb": 1e9}
    num = s.rstrip("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
    return float(num) * units[s[len(num):].lower()]


def peer_window(sock):
    """Bytes the peer can still take: its advertised window less what is
    queued in our socket (sent unacknowledged or not sent)."""
    try:
        info = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 232)
        if len(info) < TCP_INFO_SND_WND + 4:
            return 1 << 30
        wnd = struct.unpack_from("I", info, TCP_INFO_SND_WND)[0]
        queued = struct.unpack("i", fcntl.ioctl(sock.fileno(), SIOCOUTQ, b"\0" * 4))[0]
        return wnd - queued
    except OSError:
        return 1 << 30


class Bottleneck:
    """One direction's FIFO: a byte enqueued now leaves at `free_at`."""

    def __init__(self, rate, queue):
        self.rate, self.queue, self.free_at = rate, queue, 0.0

    def queued(self, now):
        return max(0.0, self.free_at - now) * self.rate

    def send(self, now, n):
        self.free_at = max(now, self.free_at) + n / self.rate
        return self.free_at


class Flow:
    """One direction of one connection: a sender with a congestion window
    in front of the bottleneck, delivering to `dest`."""

    def __init__(self, loop, link, rtt, source, ready_at):
        self.loop, self.link, self.rtt = loop, link, rtt
        self.source, self.dest, self.dest_sock = source, None, None
        self.ready_at = ready_at
        self.buf = bytearray()
        self.inflight = 0
        self.cwnd, self.ssthresh = float(INITIAL_WINDOW), float("inf")
        self.last_loss, self.last_active = -1e9, loop.time()
        self.eof = self.dead = False
        self.timer = None
        self.rto = 0.2 + rtt

    def feed(self, data):
        self.buf += data
        if len(self.buf) > SOURCE_HIGH:
            self.source.pause_reading()
        self.pump()

    def wake_at(self, when):
        if self.timer is None:
            self.timer = self.loop.call_at(when, self.woken)

    def woken(self):
        self.timer = None
        self.pump()

    def pump(self):
        if self.dead or self.dest is None:
            return
        now = self.loop.time()
        if now < self.ready_at:
            return self.wake_at(self.ready_at)
        if self.inflight == 0 and self.buf and now - self.last_active > self.rto:
            # Linux's tcp_cwnd_restart: the threshold first keeps 3/4 of the
            # window, so the restart grows back by slow start, not one
            # segment per round trip after an old loss.
            self.ssthresh = max(self.ssthresh, 0.75 * self.cwnd)
            for _ in range(int((now - self.last_active) / self.rto)):
                self.cwnd = max(float(INITIAL_WINDOW), self.cwnd / 2)
        while self.buf:
            room = min(self.cwnd - self.inflight,
                       peer_window(self.dest_sock) - self.dest.get_write_buffer_size()
                       - self.inflight)
            n = min(len(self.buf), SEGMENT, int(room))
            if n < min(len(self.buf), MSS):
                if self.inflight == 0:      # only the receiver's window: look again soon
                    self.wake_at(now + 0.001)
                return                      # else an ACK will call again
            q = self.link.queued(now)
            if q + n > self.link.queue:     # a drop: halve, and wait for room
                if now - self.last_loss > self.rtt:
                    self.ssthresh = max(self.cwnd / 2, 2.0 * MSS)
                    self.cwnd, self.last_loss = self.ssthresh, now
                return self.wake_at(now + (q + n - self.link.queue) / self.link.rate)
            leaves = self.link.send(now, n)
            data = bytes(self.buf[:n])
            del self.buf[:n]
            self.inflight += n
            self.last_active = now
            self.loop.call_at(leaves + self.rtt / 2, self.deliver, data)
            self.loop.call_at(leaves + self.rtt, self.acked, n)
        if len(self.buf) < SOURCE_LOW:
            self.source.resume_reading()
        self.maybe_close()

    def deliver(self, data):
        if not self.dead:
            self.dest.write(data)

    def acked(self, n):
        self.inflight -= n
        self.last_active = self.loop.time()
        if self.cwnd < self.ssthresh:
            self.cwnd += n
        else:
            self.cwnd += MSS * n / self.cwnd
        self.pump()

    def maybe_close(self):
        if self.eof and not self.buf and self.inflight == 0 and not self.dead:
            self.dead = True
            if self.dest.can_write_eof():
                self.dest.write_eof()
            else:
                self.dest.close()


class Side(asyncio.Protocol):
    """One socket of a proxied connection; what it reads goes to `flow`."""

    def __init__(self, conn):
        self.conn, self.transport, self.flow = conn, None, None

    def connection_made(self, transport):
        self.transport = transport

    def data_received(self, data):
        self.flow.feed(data)

    def eof_received(self):
        self.flow.eof = True
        self.flow.maybe_close()
        return True                         # half-close: the other way may go on

    def connection_lost(self, exc):
        self.conn.close()


class Connection:
    def __init__(self, proxy):
        self.proxy, self.sides, self.flows, self.closed = proxy, [], [], False

    def close(self):
        if self.closed:
            return
        self.closed = True
        for f in self.flows:
            f.dead = True
            if f.timer:
                f.timer.cancel()
        for s in self.sides:
            if s.transport:
                s.transport.close()


class Proxy:
    def __init__(self, rtt, rate, queue):
        self.rtt = rtt
        self.up = Bottleneck(rate, queue)       # client to server
        self.down = Bottleneck(rate, queue)     # server to client
        self.upstream = None
        self.loop = None

    async def accepted(self, client_sock):
        loop, conn = self.loop, Connection(self)
        now = loop.time()
        client, server = Side(conn), Side(conn)
        request = Flow(loop, self.up, self.rtt, None, now + self.rtt)
        reply = Flow(loop, self.down, self.rtt, None, now)
        client.flow, server.flow = request, reply
        conn.sides, conn.flows = [client, server], [request, reply]
        try:
            await loop.connect_accepted_socket(lambda: client, client_sock)
            request.source = reply.dest = client.transport
            reply.dest_sock = client_sock
            await loop.create_connection(lambda: server, *self.upstream)
        except OSError:
            conn.close()
            return
        reply.source = request.dest = server.transport
        request.dest_sock = server.transport.get_extra_info("socket")
        request.pump()

    async def serve(self, listener):
        self.loop = asyncio.get_running_loop()
        listener.setblocking(False)
        while True:
            sock, _ = await self.loop.sock_accept(listener)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.loop.create_task(self.accepted(sock))


async def main_async(args, listener):
    loop = asyncio.get_running_loop()
    rate = parse_rate(args.rate)
    rtt = args.rtt_ms / 1000
    queue = args.queue_kb * 1024 if args.queue_kb else rate * rtt
    proxy = Proxy(rtt, rate, queue)
    stop = loop.create_future()
    loop.add_signal_handler(signal.SIGTERM, lambda: stop.done() or stop.set_result(None))
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    if args.upstream:
        host, port = args.upstream.rsplit(":", 1)
        proxy.upstream = (host, int(port))
    else:
        line = (await reader.readline()).decode().split()
        host, port = line[1].rsplit(":", 1)
        proxy.upstream = (host, int(port))
    server = loop.create_task(proxy.serve(listener))
    eof = loop.create_task(reader.read())
    await asyncio.wait([stop, eof], return_when=asyncio.FIRST_COMPLETED)
    server.cancel()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rtt-ms", type=float, default=20)
    ap.add_argument("--rate", default="200mbit")
    ap.add_argument("--queue-kb", type=float, default=0, help="bottleneck queue (0 = one BDP)")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--upstream", help="HOST:PORT (else read from stdin)")
    args = ap.parse_args()
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", args.port))
    listener.listen(128)
    print(f"linkproxy: listening on 127.0.0.1:{listener.getsockname()[1]}", flush=True)
    asyncio.run(main_async(args, listener))


if __name__ == "__main__":
    main()


class LinkProxyProcess:
    """The proxy as a child process, for benches: `port` to hand out,
    `connect(upstream_port)` once the server runs, `stop()`."""

    def __init__(self, rtt_ms=20, rate="200mbit", queue_kb=0):
        import subprocess
        self.proc = subprocess.Popen(
            [sys.executable, __file__, "--rtt-ms", str(rtt_ms), "--rate", rate,
             "--queue-kb", str(queue_kb)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        if "listening on" not in line:
            self.stop()
            raise RuntimeError(f"linkproxy did not start: {line!r}")
        self.port = int(line.rsplit(":", 1)[1])

    def connect(self, upstream_port):
        self.proc.stdin.write(f"upstream 127.0.0.1:{upstream_port}\n")
        self.proc.stdin.flush()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=5)
            except Exception:
                self.proc.kill()
                self.proc.wait()
        self.proc.stdout.close()
