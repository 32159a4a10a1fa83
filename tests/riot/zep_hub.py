#!/usr/bin/env python3
"""ZEP hub: a simulated IEEE 802.15.4 medium for RIOT native nodes (socket_zep, USE_ZEP=1).

    tests/riot/zep_hub.py [--port 17754] [--log FILE] [--no-airtime] [--bitrate 250]
        [--chain EUI,EUI,... | --topology FILE] [--loss P] [--seed N]
        [--ack-delay-us 192] [--guard-us 1000] [--rx-confirm-ms 20] [--max-defer-ms 40]
        [--trace]

Listens on UDP [::1]:<port> (loopback only). socket_zep sends each frame as one datagram: a
32-byte ZEP v2 data header, then the PSDU with its 2-byte FCS (CRC-16/KERMIT). The hub passes
frames on to the nodes that hear the sender. It is single-threaded and event-driven (select and
a heap of timed events; the logic is in zep_medium.py): nothing sleeps, so no frame's timing
holds up another's. Runs until SIGTERM / SIGINT, then prints the counters line; SIGUSR1
prints it at once with the prefix `zep_hub: snapshot ` (so that a script can count what one
phase of a run put on the air: the difference of two snapshots).

Why the medium acknowledges. socket_zep has no AUTO_ACK, so RIOT's SubMAC ACKs in software:
the receiver of a unicast frame with the AR bit sends a 3-byte ACK frame as its own datagram,
and the sender, once back in RX after writing its frame, waits ACK_TIMEOUT_US = 864 us for it,
then retransmits (up to CONFIG_IEEE802154_DEFAULT_MAX_FRAME_RETRANS = 4 times). Through a
userspace hub on a loaded machine the receiver's ACK routinely comes later, and every frame
arrived about five times. So the hub ACKs, as a radio with AUTO_ACK would: for a unicast data
frame with AR whose destination (long or short, PAN ID compressed or not) is a known node that
hears the sender and that the loss model lets through, it sends the ACK (FCF 0x02 0x00, seq,
FCS, in a ZEP v2 header with the frame's channel) to the sender --ack-delay-us after the frame
reached the hub: never behind data air time, whether or not the frame itself is deferred.
The nodes' own ACKs are never forwarded; they tell the hub that the receiver took the frame.
If the receiver sends none within --rx-confirm-ms, it discarded the frame (socket_zep drops a
datagram that arrives when it is not in RX_ON: while it transmits, processes a frame, ...), and
the hub re-delivers it, up to 3 times: the retransmissions the sender no longer makes. A node
that leaves a frame unconfirmed is then ACKed for no more until it ACKs again, so that senders
see NOACK from a node whose radio stopped. Node addresses come from socket_zep HELLOs (ZEP
type 255, the EUI-64 after the header; only with the socket_zep_hello module) and from the
source address of every frame. A unicast for an address nobody announced goes to every
neighbour without an ACK; the hub learns the address from the node that ACKs it, so the
sender's retransmission is ACKed.

Channel: one frame at a time, one collision domain for all nodes (as on IoT-LAB, where the
nodes are close to each other and routes are forced). Air time of a frame: (6-byte PHY header
+ PSDU) * 8 / --bitrate kbit/s: 32 us per byte at 250 kbit/s, 4.256 ms for a 127-byte PSDU.
After its air time the channel stays busy, for an acknowledged unicast, a turnaround (192 us)
and the ACK's air time (352 us), then for the interframe spacing (SIFS 192 us after an MPDU of
up to 18 bytes, else LIFS 640 us). socket_zep writes a frame when its air time has elapsed at
the sender, so a frame reaching the hub on a channel that was free for its whole air time is
delivered at once; otherwise (ideal CSMA) it goes on the air when the channel is free and is
delivered at the end of its own air time: delivery = max(arrival, channel free + air time),
in arrival order. Simplified: there are no collisions, no hidden nodes and no CCA or backoff
times (each deferral is the ideal one), the channel is shared even by nodes that do not hear
each other, turnaround and spacing stay the 2.4 GHz O-QPSK values at other bit rates (as
RIOT's SubMAC constants do), a frame that would wait more than --max-defer-ms is dropped
without an ACK (channel access failure; CSMA-CA gives up after about 37 ms at 250 kbit/s), and
re-deliveries take air time but are not subject to loss. --no-airtime drops the channel: frames
go out when they arrive (ACKs, guards, topology and loss stay).

Per-receiver guard: what keeps RIOT's SubMAC assertion from firing. In RIOT 2026.07 a node
that received a frame with AR sends its software ACK inside netdev_ieee802154_submac's _recv,
synchronously; the ACK's tx_done sets `dispatch = true` again, and only the netif thread's next
ISR event clears it, while the radio is already back in RX_ON. A frame that arrives in that
window makes submac_rx_done fail `assert(!netdev_submac->dispatch)`
(netdev_ieee802154_submac.c:365) and that node's radio stops. The hub cannot see the node's
thread, but it sees the ACK datagram, which the node writes just before that window opens. So
a frame is not delivered to a node while an ACK from it is expected (it is still processing the
previous frame), nor within --guard-us after its ACK datagram reached the hub, nor within
--guard-us after a frame was delivered to it or its own frame reached the hub (it would be in
RX_RECV, TX or idle and discard the frame); it waits in the node's queue (in order) instead.

Topology: by default every node hears every other node. --chain EUI,EUI,... makes consecutive
entries neighbours; --topology FILE reads lines `EUI EUI [loss]` (an undirected link with its
own loss probability) with `#` comments. EUIs as the nodes print them (00:5a:45:50:0a:00:00:01).
Nodes not named hear nobody and are heard by nobody (one warning line each). A broadcast goes
to each neighbour of its sender. Loss: each frame is lost for each receiver independently with
the link's probability (--loss by default, 0); a lost unicast gets no ACK, so the sender
retransmits. --seed makes the draws reproducible.

Output (stdout, and --log FILE too): `zep_hub: listening on [::1]:PORT` at start, one line per
new node and per learned address, with --trace one line per event (`zep_hub: trace kind=...
t=<us> at=<us> ...`: t when it happened, at when it was due on the channel, in microseconds
since the start), and at exit one counters line:
`zep_hub: frames=N delivered=N acks_generated=N node_acks=N deferred=N redelivered=N lost=N
unconfirmed=N dropped_no_neighbour=N nodes=N held=N retransmissions=N unknown_dst=N
busy_dropped=N queue_dropped=N hellos=N invalid=N psdu_bytes=N` (psdu_bytes: the PSDU bytes,
FCS included, of every data frame the nodes transmitted, retransmissions included; the PHY
header, the hub's ACKs and its re-deliveries are not counted).
"""

import argparse
import ctypes
import os
import selectors
import signal
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import zep_medium  # noqa: E402 (next to this script, which is run by path)


def parse_args(argv=None):
    """The command line (see the module docstring)."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, default=17754, help="UDP port on [::1] (17754)")
    ap.add_argument("--log", help="also write the output lines to this file")
    ap.add_argument("--no-airtime", action="store_true",
                    help="no channel: deliver frames as they arrive")
    ap.add_argument("--bitrate", type=int, default=250, metavar="KBPS",
                    help="PHY bit rate in kbit/s for air times (250; 2000 for high rate)")
    where = ap.add_mutually_exclusive_group()
    where.add_argument("--chain", metavar="EUI,EUI,...",
                       help="only consecutive nodes of this list hear each other")
    where.add_argument("--topology", metavar="FILE", help="links, lines `EUI EUI [loss]`")
    ap.add_argument("--loss", type=float, default=0.0,
                    help="loss probability per frame and receiver (0)")
    ap.add_argument("--seed", type=int, help="seed of the loss draws")
    ap.add_argument("--ack-delay-us", type=float, default=zep_medium.TURNAROUND_US,
                    help="delay of the hub's ACK after the frame reached it (192)")
    ap.add_argument("--guard-us", type=float, default=1000,
                    help="no frame for a node this long after its ACK or a frame (1000)")
    ap.add_argument("--rx-confirm-ms", type=float, default=20,
                    help="re-deliver when the receiver has not ACKed within this (20)")
    ap.add_argument("--max-defer-ms", type=float, default=40,
                    help="drop a frame that would wait longer for the channel (40)")
    ap.add_argument("--trace", action="store_true", help="one line per event")
    args = ap.parse_args(argv)
    if not 0.0 <= args.loss <= 1.0:
        ap.error("--loss must be in 0..1")
    if args.bitrate <= 0:
        ap.error("--bitrate must be positive")
    try:
        if args.chain:
            args.topology_obj = zep_medium.Topology.chain(args.chain.split(","), args.loss)
        elif args.topology:
            with open(args.topology) as f:
                args.topology_obj = zep_medium.Topology.from_lines(f, args.loss)
        else:
            args.topology_obj = zep_medium.Topology(default_loss=args.loss)
    except (OSError, ValueError) as e:
        ap.error(str(e))
    return args


def _less_timer_slack():
    # select() wake-ups are late by the timer slack (50 us by default): a good part of the
    # 192 us before an ACK. PR_SET_TIMERSLACK = 29; best effort, Linux only.
    try:
        ctypes.CDLL(None, use_errno=True).prctl(29, 1000, 0, 0, 0)
    except (OSError, AttributeError):
        pass


def main(argv=None):
    """Run the hub until SIGTERM / SIGINT."""
    args = parse_args(argv)
    sys.stdout.reconfigure(line_buffering=True)
    logfile = open(args.log, "a", buffering=1) if args.log else None

    def out(line):
        print(line, flush=True)
        if logfile:
            print(line, file=logfile)

    sock = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    sock.bind(("::1", args.port))
    sock.setblocking(False)
    clock = time.monotonic

    def trace(rec):
        out("zep_hub: trace " + " ".join(f"{k}={v}" for k, v in rec.items()))

    medium = zep_medium.Medium(
        lambda addr, data: sock.sendto(data, addr), topology=args.topology_obj,
        bitrate_kbps=args.bitrate, airtime=not args.no_airtime, ack_delay_us=args.ack_delay_us,
        guard_us=args.guard_us, rx_confirm_ms=args.rx_confirm_ms,
        max_defer_ms=args.max_defer_ms, seed=args.seed, log=out,
        trace=trace if args.trace else None, t0=clock())

    # Signals only set a flag; the wakeup fd ends the select() they interrupt.
    stop, snapshot = [], []
    wake_r, wake_w = socket.socketpair()
    wake_r.setblocking(False)
    wake_w.setblocking(False)
    signal.set_wakeup_fd(wake_w.fileno())
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.append(True))
    signal.signal(signal.SIGUSR1, lambda *_: snapshot.append(True))
    # SelectSelector: select() takes microsecond timeouts, epoll and poll round up to 1 ms.
    sel = selectors.SelectSelector()
    sel.register(sock, selectors.EVENT_READ)
    sel.register(wake_r, selectors.EVENT_READ)
    _less_timer_slack()
    out(f"zep_hub: listening on [::1]:{args.port}")
    while not stop:
        if snapshot:
            snapshot.clear()
            out(medium.summary("zep_hub: snapshot "))
        due = medium.next_time()
        timeout = None if due is None else max(0.0, due - clock())
        for key, _ in sel.select(timeout):
            if key.fileobj is wake_r:
                try:
                    wake_r.recv(64)
                except BlockingIOError:
                    pass
                continue
            while True:
                try:
                    data, src = sock.recvfrom(2048)
                except BlockingIOError:
                    break
                except ConnectionRefusedError:
                    continue  # an ICMP port unreachable from a node that stopped
                now = clock()
                medium.on_datagram(now, src[:2], data)
                medium.run_due(now)  # a frame on a free channel goes out at once
        medium.run_due(clock())
    out(medium.summary())


if __name__ == "__main__":
    main()
