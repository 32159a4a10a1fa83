# iotlab-m3 (FIT IoT-LAB M3: STM32F103REY, AT86RF231 radio), included by apps/*/Makefile.
# The radio and 6LoWPAN come with netdev_default / gnrc_ipv6_default. Server URIs on the
# testbed are global addresses behind the site's border router, e.g.
#   LWM2M_SERVER_URI='coap://[2001:db8::1]:5683'
# (a link-local one needs the radio interface number, usually 4 here; check with `ifconfig`).
# 802.15.4 channel (IoT-LAB default 11..26; pick one per experiment to avoid neighbours).
IEEE802154_DEFAULT_CHANNEL ?= 26
CFLAGS += -DCONFIG_IEEE802154_DEFAULT_CHANNEL=$(IEEE802154_DEFAULT_CHANNEL)
