"""The policy's lifetime end to end, with the project's server and two host clients: under
`lifetime=3 renew=no` the requester's automatic refresh is refused (4.03), the accounts end
at their lifetime on both clients, the observation over DTLS ends with them, and the server
forgets the grant."""
import time

from conftest import BIN, Proc, free_udp_port


def test_refresh_refused_and_the_observation_ends(tmp_path):
    policy = tmp_path / "policy.txt"
    policy.write_text("allow requester=reader host=sensor path=/3303 rights=read "
                      "lifetime=3 renew=no\n")
    srv, host_port, req_port = free_udp_port(), free_udp_port(), free_udp_port()
    server = Proc([str(BIN / "lwm2m-server"), "--coap", f"127.0.0.1:{srv}", "--no-http",
                   "--no-stdin", "--policy", str(policy), "--c2c-security", "psk"],
                  tmp_path / "server.log")
    host = Proc([str(BIN / "lwm2m-client"), "--endpoint", "sensor",
                 "--server", f"coap://127.0.0.1:{srv}", "--bind", f"127.0.0.1:{host_port}",
                 "--temperature", "1", "--period", "0.2", "--duration", "40"],
                tmp_path / "host.log")
    req = None
    try:
        host.wait_for("registered", timeout=15)
        req = Proc([str(BIN / "lwm2m-client"), "--endpoint", "reader",
                    "--server", f"coap://127.0.0.1:{srv}", "--bind", f"127.0.0.1:{req_port}",
                    "--c2c-observe", f"sensor,coap://127.0.0.1:{host_port},/3303/0/5700",
                    "--duration", "40"], tmp_path / "req.log")
        req.wait_for("access granted by server 1", timeout=15)
        req.wait_for("notification 2.05", timeout=15)
        # The automatic refresh is refused by the policy ...
        req.wait_for("c2c account refresh for sensor at server 1: 4.03", timeout=15)
        # ... so the accounts end at their lifetime, and the observation with them.
        req.wait_for("failed: account 1 closed", timeout=15)
        host.wait_for("c2c account 1 closed", timeout=15)
        server.wait_for('"event":"grants-expired"', timeout=15)
        time.sleep(1.0)  # room for a notification that would (wrongly) still arrive
        lines = req.output().splitlines()
        end = next(i for i, line in enumerate(lines) if "failed: account 1 closed" in line)
        assert sum("notification 2.05" in line for line in lines[:end]) >= 1
        assert not any("notification 2.05" in line for line in lines[end:]), lines[end:]
        denied = [line for line in server.output().splitlines()
                  if '"access-request"' in line and '"denied"' in line]
        assert len(denied) == 1 and "renew=no" in denied[0], denied
    finally:
        if req is not None:
            req.stop()
        host.stop()
        server.stop()
