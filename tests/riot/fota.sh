# Firmware Update cases of tests/riot/run.sh (sourced by it: its functions and variables, a
# node already started). Not a script of its own.

# Push (LWM2M_FOTA=file) to the running node $EP.
fota_push_case() {
    # Firmware Update push (LWM2M_FOTA=file): 100 KB in 256-byte Block1 blocks (a 512-byte block
    # and its header do not fit gcoap's 512-byte PDU buffer) into the node's file (native64's
    # host directory nvm0/ in the node's working directory), verified by the engine (SHA-256 of the
    # manifest) and byte for byte here; then a corrupted image is refused and the stored one stays.
    head -c 102400 /dev/urandom >"$WORK/fw.bin"
    ip netns exec "$NS" curl -s -m 300 -X POST --data-binary @"$WORK/fw.bin" \
        "http://127.0.0.1:$HTTP_PORT/api/clients/$EP/fota?name=riot-app&version=2.0&block=256" \
        >"$WORK/fota-push.json"
    echo "fota push: $(cat "$WORK/fota-push.json")"
    check "FOTA push of 100 KB answered 2.04" grep -q '"code":"2.04"' "$WORK/fota-push.json"
    check "node stored the verified image (EVT fota_stored ok=1)" \
        wait_for "fota_stored ok=1" "$NODE_LOG" 5
    check "stored file equals the pushed image byte for byte" \
        cmp "$WORK/fw.bin" "$WORK/nvm0/lwm2m-firmware.bin"
    http_get "/api/clients/$EP/fota" >"$WORK/fota-state.json"
    echo "fota state: $(cat "$WORK/fota-state.json")"
    check "State Downloaded (2) with PkgName riot-app" \
        python3 -c "import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if (d['state'], d['name']) == (2, 'riot-app') else 1)" \
        "$WORK/fota-state.json"
    http_post "/api/clients/$EP/fota/update" >"$WORK/fota-update.json"
    check "Execute Update answered 2.04" grep -q '"code":"2.04"' "$WORK/fota-update.json"
    http_get "/api/clients/$EP/fota" >"$WORK/fota-state2.json"
    echo "fota state after update: $(cat "$WORK/fota-state2.json")"
    check "after Update: State Idle, Update Result 1" \
        python3 -c "import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if (d['state'], d['result']) == (0, 1) else 1)" \
        "$WORK/fota-state2.json"
    # An image over the backend's capacity (CONFIG_LWM2M_FOTA_FILE_MAX, 200 KB in this build) is
    # refused at its first block with Update Result 2, and the stored image stays as it was.
    head -c 204801 /dev/zero >"$WORK/fw-big.bin"
    ip netns exec "$NS" curl -s -m 60 -X POST --data-binary @"$WORK/fw-big.bin" \
        "http://127.0.0.1:$HTTP_PORT/api/clients/$EP/fota?block=256" >"$WORK/fota-big.json"
    echo "fota push of 200 KB + 1: $(cat "$WORK/fota-big.json")"
    http_get "/api/clients/$EP/fota" >"$WORK/fota-state3.json"
    echo "fota state: $(cat "$WORK/fota-state3.json")"
    check "image over capacity: refused (not 2.04), Update Result 2" \
        python3 -c "import json,sys; p=json.load(open(sys.argv[1])); d=json.load(open(sys.argv[2])); sys.exit(0 if p.get('code') != '2.04' and d['result'] == 2 else 1)" \
        "$WORK/fota-big.json" "$WORK/fota-state3.json"
    check "the stored image is unchanged after the refused push" \
        cmp "$WORK/fw.bin" "$WORK/nvm0/lwm2m-firmware.bin"
}

# Pull (LWM2M_FOTA=file LWM2M_FOTA_PULL=1) by the running node <endpoint>: a 100 KB package the
# server serves at /fw/<id>, fetched with Block2 over the node's server account (<security>:
# the label the server gives the block requests, e.g. nosec or oscore:01), stored byte for byte,
# State Downloaded, Update -> Result 1; then an unknown package id ends with Result 7.
fota_pull_case() { # endpoint security
    local ep=$1 sec=$2 ev0 t0 t1 blocks uri99
    # The push case's image is still in nvm0/: the pull must write its own.
    rm -f "$WORK/nvm0/lwm2m-firmware.bin"
    head -c 102400 /dev/urandom >"$WORK/fw-pull.bin"
    ev0=$(wc -l <"$WORK/server.log")
    t0=$(date +%s%N)
    ip netns exec "$NS" curl -s -m 60 -X POST --data-binary @"$WORK/fw-pull.bin" \
        "http://127.0.0.1:$HTTP_PORT/api/clients/$ep/fota?mode=pull&name=riot-pull&version=3.0" \
        >"$WORK/fota-pull-$ep.json"
    echo "fota pull: $(cat "$WORK/fota-pull-$ep.json")"
    check "Package URI written (2.04)" grep -q '"code":"2.04"' "$WORK/fota-pull-$ep.json"
    check "node stored the pulled image (EV fota_stored ok=1)" \
        wait_for "fota_stored ok=1" "$NODE_LOG" 150
    t1=$(date +%s%N)
    wait_for "fota_pull_end" "$NODE_LOG" 5
    grep -o 'fota_pull[a-z_]* .*' "$NODE_LOG"
    blocks=$(sed -n 's/.*fota_pull_end ok=1 .*blocks=\([0-9]*\).*/\1/p' "$NODE_LOG" | tail -1)
    echo "fota pull of 100 KB: $(( (t1 - t0) / 1000000 )) ms (from the HTTP request), ${blocks:-?} blocks"
    # The server names how each block was asked for (block2-progress, one per tenth).
    tail -n +"$((ev0 + 1))" "$WORK/server.log" | grep '"event":"block2-progress"' >"$WORK/pull-progress-$ep.log"
    check "every block2-progress event of the pull has security $sec ($(wc -l <"$WORK/pull-progress-$ep.log") events)" \
        bash -c "[ -s '$WORK/pull-progress-$ep.log' ] && ! grep -v '\"security\":\"$sec' '$WORK/pull-progress-$ep.log'"
    check "pulled file equals the served image byte for byte" \
        cmp "$WORK/fw-pull.bin" "$WORK/nvm0/lwm2m-firmware.bin"
    http_get "/api/clients/$ep/fota" >"$WORK/fota-pull-$ep-state.json"
    echo "fota state: $(cat "$WORK/fota-pull-$ep-state.json")"
    check "after the pull: State Downloaded (2) with PkgName riot-pull" \
        python3 -c "import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if (d['state'], d['name']) == (2, 'riot-pull') else 1)" \
        "$WORK/fota-pull-$ep-state.json"
    http_post "/api/clients/$ep/fota/update" >"$WORK/fota-pull-$ep-update.json"
    http_get "/api/clients/$ep/fota" >"$WORK/fota-pull-$ep-state2.json"
    echo "fota state after update: $(cat "$WORK/fota-pull-$ep-state2.json")"
    check "after Update: State Idle, Update Result 1" \
        python3 -c "import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if (d['state'], d['result']) == (0, 1) else 1)" \
        "$WORK/fota-pull-$ep-state2.json"
    # A package the server does not serve: the server's URI with another id (4.04 -> 7).
    uri99=$(python3 -c "import json,re,sys; print(re.sub(r'/fw/[0-9]+$', '/fw/99', json.load(open(sys.argv[1]))['uri']))" \
        "$WORK/fota-pull-$ep.json")
    ip netns exec "$NS" curl -s -m 20 -X PUT -H 'Content-Type: application/json' -d "\"$uri99\"" \
        "http://127.0.0.1:$HTTP_PORT/api/clients/$ep/5/0/1?format=text" >"$WORK/fota-pull-${ep}-99.json"
    echo "write /5/0/1 $uri99: $(cat "$WORK/fota-pull-${ep}-99.json")"
    check "pull of an unknown package ends on the node (EV fota_pull_end ok=0 why=client_error)" \
        wait_for "fota_pull_end ok=0 why=client_error" "$NODE_LOG" 30
    http_get "/api/clients/$ep/fota" >"$WORK/fota-pull-$ep-state3.json"
    echo "fota state: $(cat "$WORK/fota-pull-$ep-state3.json")"
    check "pull of an unknown package: State Idle, Update Result 7" \
        python3 -c "import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if (d['state'], d['result']) == (0, 7) else 1)" \
        "$WORK/fota-pull-$ep-state3.json"
}
