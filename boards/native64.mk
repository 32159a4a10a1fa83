# native64, included by apps/*/Makefile.
#
# Default: one tap interface (netdev_tap), numbered 6 by RIOT 2026.07, so a host-side peer at
# fe80::1 on that tap is coap://[fe80::1%6]:5683 (the apps' default). Run the ELF with the tap
# name: `bin/native64/<app>.elf tap0` (tests/riot/run.sh creates tap0 in a network namespace).
#
# Alternative without root: USE_ZEP=1 simulates an IEEE 802.15.4 radio (socket_zep, 6LoWPAN)
# over UDP on loopback; any number of nodes share one medium through RIOT's ZEP dispatcher:
#
#   make -C $RIOTBASE/dist/tools/zep_dispatch
#   $RIOTBASE/dist/tools/zep_dispatch/bin/zep_dispatch ::1 17754 &
#   make -C apps/sensor-c BOARD=native64 USE_ZEP=1
#   apps/sensor-c/bin/native64/sensor-c.elf -z [::1]:17754 --eui64=00:5a:45:50:0a:00:00:01
#
# (`make ... USE_ZEP=1 term` passes -z itself; ZEP_IP, ZEP_PORT_BASE and ZEP_MAC set the
# dispatcher address and the EUI-64.) The ZEP interface replaces the tap and is numbered 7
# (checked with `ifconfig` on RIOT 2026.07: "Iface 7 ... Long HWaddr: 00:5A:45:50:0A:00:00:01",
# 6LoWPAN, L2-PDU 102), so link-local peers are coap://[fe80::...%7]:5683; the apps' default
# server URI follows. Nodes on the simulated radio reach each
# other directly (client-to-client); a server on the host needs a border router between the
# ZEP medium and a tap (e.g. RIOT's examples/networking/gnrc/border_router with USE_ZEP=1), and a
# global LWM2M_SERVER_URI. dist/tools/zep_dispatch/topogen makes lossy multi-hop topologies
# (`zep_dispatch -t <file>`). Stop a node by killing its whole process group: native forks
# helpers that survive SIGTERM of the main process.
USE_ZEP ?= 0
ifeq (1,$(USE_ZEP))
  USEMODULE += socket_zep
  # Announces the node's EUI-64 to the medium at start (tests/riot/zep_hub.py places nodes in
  # its topology by it).
  USEMODULE += socket_zep_hello
  LWM2M_SERVER_URI ?= coap://[fe80::1%7]:5683
endif
