# native64: one tap interface (netdev_tap), numbered 6 by RIOT 2026.07, so a host-side peer at
# fe80::1 on that tap is coap://[fe80::1%6]:5683 (the apps' default).
# Several nodes on a simulated 802.15.4 network instead: USE_ZEP=1 with dist/tools/zep_dispatch
# (see shared platform notes); they then need a border router to reach a server on the host.
