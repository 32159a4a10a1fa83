"""The host backend's translation of the binaries' output into EV lines, and the pairing of
relay writes with the host's notifications (no processes started)."""

import host_backend


class Lines:
    def __init__(self, lines, t0=10.0):
        self.lines = lines
        self.t0 = t0


def test_requester_lines():
    p = Lines([(10.5, "c2c #1: request sent to [::1]:1 (plain)"),
               (10.52, "c2c #1: 4.01 unauthorized, owner hint coap://[::1]:2"),
               (10.521, "c2c #1: access request to server 1 (credentials wanted)"),
               (10.8, "c2c #1: access granted by server 1: account installed"),
               (10.801, "c2c #1: request sent to [::1]:1 (DTLS, account 1)"),
               (10.95, 'c2c #1: response 2.05 over DTLS: "21.1"'),
               (11.95, 'c2c #1: notification 2.05 observe=3: "21.25"'),
               (12.0, "served GET /3/0 from [::1]:2 (server 1) -> 2.05")])
    ev = [line.split(" ", 3)[3] for line in host_backend.translate(p, "requester", True)]
    P = "h=1 host=host path=/3303/0/5700"
    assert ev == [f"c2c_request {P} observe plain", "hint_rx h=1 ssid=1",
                  "auth_begin h=1 host=host ssid=1 path=/3303/0",
                  "auth_end host=host ssid=1 code=2.01 refresh=0",
                  f"c2c_request {P} observe dtls",
                  f"response_rx {P} code=2.05 value=0 bytes=4",
                  f"notification_rx {P} seq=0 value=0 bytes=4",
                  f"notification_rx {P} seq=3 value=3 bytes=5"]
    # Node time: ms since the process started (t0 = 10 s).
    assert host_backend.translate(p, "requester", True)[0].startswith("10.500000 EV 500 ")


def test_host_lines():
    p = Lines([(11.0, "notification sent /3303/0/5700 to [::1]:3 NON 2.05 observe=7"),
               (11.1, "served GET /3303/0/5700 from [::1]:3 (client 1) -> 2.05")])
    assert host_backend.translate(p, "host", True) == [
        "11.000000 EV 1000 value_produced /3303/0/5700 7"]


def test_relay_writes_pair_with_notifications_in_order():
    n = [{"event": "notification", "endpoint": "host", "response": {"observe": k}}
         for k in (4, 5, 6)]
    r = [{"event": "relayed", "endpoint": "host", "result": x}
         for x in ("4.00", "4.00", "timeout", "4.00")]
    # first write (None), then notifications 4, 5 (its write timed out), 6.
    ev = [r[0], n[0], r[1], n[1], n[2], r[2], r[3],
          {"event": "notification", "endpoint": "other", "response": {"observe": 9}}]
    assert host_backend.relay_seqs(ev) == [None, 4, 6]
    p = Lines([(11.0, "served PUT /3311/0/5706 from [::1]:2 (server 1) -> 4.00"),
               (11.2, "served PUT /3311/0/5706 from [::1]:2 (server 1) -> 4.00"),
               (11.4, "served PUT /3311/0/5706 from [::1]:2 (server 1) -> 4.00")])
    assert [x.split(" ", 3)[3] for x in host_backend.translate(p, "requester", True,
                                                                [None, 4, 6])] == [
        "value_rx /3311/0/5706 4", "value_rx /3311/0/5706 6"]
