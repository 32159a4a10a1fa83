"""The `iotlab` backend: the experiment as a list of IoT-LAB CLI calls (iotlabcli 3.3.2).

`plan(exp)` returns every call in order, as argument lists; `--dry-run` prints them and
contacts nothing. The calls:

 1. build each role's firmware for iotlab-m3 (`make -C apps/<app> BOARD=iotlab-m3 <knobs>`;
    the border router is RIOT's gnrc_border_router with the ethos uplink);
 2. with an energy figure (`[iotlab] profile`): `iotlab-profile addm3` (power, voltage and
    current of each node);
 3. `iotlab-experiment submit`: the nodes of `[iotlab] nodes` (roles in the order gateway,
    forwarders f1.., host, requester; for a random topology chosen by the user with the
    distance rules) or, without a list, that many m3 nodes by archi/site
    constraint (for a random topology the testbed's choice then replaces the distance
    rules; list nodes chosen by them to keep them); `iotlab-experiment wait` until Running,
    `iotlab-experiment get -n` for the node names the roles take in that order;
 4. copy the server to the site's SSH frontend (the LwM2M server runs there), start the
    border router (`ethos_uhcpd.py` on the frontend, IPv6 prefix of the user's account);
 5. per run: flash the run's roles (`iotlab-node --flash`), set the forwarders' routes on
    their shells, start the server (with the run's `--c2c-security`), for the server-centric
    runs start the relay (`POST /api/relays`), collect every node's serial output for the
    run's duration with `serial_aggregator` (which stamps each line on the frontend's clock:
    one clock for all nodes, the alignment the analysis needs), stop the server;
 6. `iotlab-experiment stop`, then fetch the consumption files (`.iot-lab/<id>/consumption`).

Placeholders the real run fills from earlier answers: `{exp_id}` (submit), `{node:<role>}`
(get -n), `{ll:<role>}` (the node's link-local address, from its `ifconfig`), `{prefix}`
(the account's IPv6 prefix). Only the dry run exists: executing the calls (filling the
placeholders from the answers) is not implemented, and nothing here ever contacts the
testbed; run the printed calls by hand. The serial logs it collects are analysed like the
other backends' once split per node into EV files (not implemented either).
"""

import shlex
import sys

FRONTEND = "{login}@{site}.iot-lab.info"
SETTLE_S = 30
"""Seconds a run adds to its values x interval for flashing, registration and authorization."""
RIOT_BR = "$RIOTBASE/examples/networking/gnrc/border_router"


def _roles(exp):
    """Role names in node order."""
    if exp.topology.kind == "chain":
        fwd = max(exp.topology.forwarders)
    elif exp.topology.kind == "random":
        fwd = exp.topology.nodes - 3
    else:
        fwd = max(exp.topology.hops.values()) - 1
    return ["gw"] + [f"f{i}" for i in range(1, fwd + 1)] + ["host", "requester"]


def _app(exp, role, default, knobs=()):
    r = exp.roles.get(role, {})
    app = r.get("app", default)
    k = dict(knobs)
    k.update(r.get("knobs", {}))
    return app, [f"{a}={b}" for a, b in sorted(k.items())]


def run_seconds(exp, run):
    """Reserved time of one run."""
    if exp.mode == "auth":
        return SETTLE_S
    return SETTLE_S + exp.values * run.interval_ms / 1000.0


def plan(exp, login="{login}"):
    """Every call, in order (argument lists)."""
    io = exp.iotlab
    site = io["site"]
    front = FRONTEND.format(login=login, site=site)
    roles = _roles(exp)
    runs = exp.runs()
    total_s = sum(run_seconds(exp, r) for r in runs) + 300
    if total_s > io["duration_min"] * 60:
        raise ValueError(f"{exp.path}: the runs need about {total_s / 60:.0f} min, more than "
                         f"[iotlab] duration_min = {io['duration_min']}")
    calls = []
    sec_knob = {"oscore": {"LWM2M_OSCORE": 1}, "dtls": {"LWM2M_DTLS": 1, "LWM2M_OSCORE": 0}}
    builds = {}
    for sec in exp.security:
        builds[("host", sec)] = _app(exp, "host", "c2c-host", sec_knob[sec])
        builds[("requester", sec)] = _app(exp, "requester", "c2c-requester", sec_knob[sec])
    if "server" in exp.deployments:
        builds[("baseline", "nosec")] = _app(exp, "baseline", "baseline-client")
    builds[("forwarder", "")] = _app(exp, "forwarder", "forwarder")
    for (role, sec), (app, knobs) in builds.items():
        calls.append(["make", "-C", f"apps/{app}", "BOARD=iotlab-m3"] + knobs)
    calls.append(["make", "-C", RIOT_BR, "BOARD=iotlab-m3", "UPLINK=ethos"])
    res = []
    if io["profile"]:
        calls.append(["iotlab-profile", "addm3", "-n", io["profile"], "-voltage", "-current",
                      "-power", "-period", "8244", "-avg", "4"])
    if io["nodes"]:
        if len(io["nodes"]) < len(roles):
            raise ValueError(f"{exp.path}: [iotlab] nodes lists {len(io['nodes'])} nodes, the "
                             f"topology needs {len(roles)} ({', '.join(roles)})")
        res = [f"{site},m3,{'+'.join(str(n) for n in io['nodes'][:len(roles)])}"]
    else:
        res = [f"{len(roles)},archi={io['archi']}+site={site}"]
    if io["profile"]:
        res[0] += f",,{io['profile']}"
    calls.append(["iotlab-experiment", "submit", "-n", io["name"], "-d",
                  str(io["duration_min"]), "-l"] + res)
    calls.append(["iotlab-experiment", "wait", "-i", "{exp_id}", "--state", "Running"])
    calls.append(["iotlab-experiment", "get", "-i", "{exp_id}", "-n"])
    calls.append(["scp", "target/release/lwm2m-server", f"{front}:"])
    calls.append(["iotlab-node", "-i", "{exp_id}", "--flash",
                  f"{RIOT_BR}/bin/iotlab-m3/gnrc_border_router.elf", "-l",
                  f"{site},m3,{{node:gw}}"])
    calls.append(["ssh", front, "sudo ethos_uhcpd.py m3-{node:gw} tap0 {prefix}::/64 &"])
    for run in runs:
        app, _ = (builds[("baseline", "nosec")] if run.deployment == "server"
                  else builds[("requester", run.security)])
        happ, _ = builds[("host", run.security if run.deployment == "c2c" else
                          exp.security[0])]
        fapp, _ = builds[("forwarder", "")]
        order = [("host", happ), ("requester", app)] + \
            [(f"f{i}", fapp) for i in range(1, run.forwarders + 1)]
        for role, a in order:
            calls.append(["iotlab-node", "-i", "{exp_id}", "--flash",
                          f"apps/{a}/bin/iotlab-m3/{a}.elf", "-l", f"{site},m3,{{node:{role}}}"])
        # Static routes along the chain (as tests/riot/c2c.sh sets them on native64): each
        # node routes the radio prefix down toward the clients, the clients route up.
        chain = ["gw"] + [f"f{i}" for i in range(1, run.forwarders + 1)]
        for a, b in zip(chain, chain[1:]):
            calls.append(["ssh", front, f"echo 'nib route add 6 {{prefix}}::/64 {{ll:{b}}}' | "
                          f"nc m3-{{node:{a}}} 20000"])
        for c in ("host", "requester"):
            calls.append(["ssh", front, f"echo 'nib route add 6 ::/0 {{ll:{chain[-1]}}}' | "
                          f"nc m3-{{node:{c}}} 20000"])
        sec = {"oscore": "oscore", "dtls": "psk"}.get(run.security, "oscore")
        calls.append(["ssh", front, f"./lwm2m-server --no-stdin --coap '[::]:5683' --policy "
                      f"policy.txt --c2c-security {sec} > server-{run.name()}.log &"])
        if run.deployment == "server":
            calls.append(["ssh", front, "curl -s -X POST -d '{\"host\":\"host\",\"path\":"
                          "\"/3303/0/5700\",\"requester\":\"requester\",\"target\":"
                          "\"/3308/0/5900\"}' http://127.0.0.1:8080/api/relays"])
        calls.append(["ssh", front, f"timeout {run_seconds(exp, run):.0f} serial_aggregator -i "
                      f"{{exp_id}} > serial-{run.name()}.log"])
        calls.append(["ssh", front, "pkill -INT -x lwm2m-server"])
        calls.append(["scp", f"{front}:serial-{run.name()}.log", f"{front}:server-{run.name()}"
                      f".log", f"results/{exp.name}/{run.name()}/"])
    calls.append(["iotlab-experiment", "stop", "-i", "{exp_id}"])
    if io["profile"]:
        calls.append(["scp", "-r", f"{front}:.iot-lab/{{exp_id}}/consumption",
                      f"results/{exp.name}/"])
    return calls


def dry_run(exp, out=sys.stdout):
    """Prints every call in order, contacts nothing; returns the calls."""
    calls = plan(exp)
    out.write(f"# iotlab dry run of {exp.path}: {len(exp.runs())} runs, {len(calls)} calls; "
              f"nothing was contacted\n")
    for k, c in enumerate(calls, 1):
        out.write(f"[{k}] {shlex.join(c)}\n")
    return calls
