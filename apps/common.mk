# Shared lines of this project's RIOT applications. An app's Makefile sets APPLICATION, its
# own modules and CFLAGS, optionally LWM2M_C2C / LWM2M_OSCORE (see
# c_glue/lwm2m_c2c/Makefile.include), then includes this file last:
#
#   APPLICATION = c2c-host
#   LWM2M_C2C ?= host
#   include ../common.mk

BOARD ?= native64

# RIOTBASE comes from the environment (a RIOT 2026.07 checkout).
ifeq (,$(RIOTBASE))
  $(error RIOTBASE is not set: export RIOTBASE=<path to a RIOT 2026.07 checkout>)
endif

# This project's checkout; its c_glue/ folder holds the lwm2m_c2c module.
ifeq (,$(LWM2M_C2C_DIR))
  LWM2M_C2C_DIR := $(abspath $(dir $(lastword $(MAKEFILE_LIST)))..)
endif
EXTERNAL_MODULE_DIRS += $(LWM2M_C2C_DIR)/c_glue
USEMODULE += lwm2m_c2c

# Per-board settings of this project (radio, channel, ...), if any.
-include $(LWM2M_C2C_DIR)/boards/$(BOARD).mk

USEMODULE += netdev_default
USEMODULE += auto_init_gnrc_netif
# LWM2M_ROUTER=1: the node is a 6LoWPAN router too (6LR): it forwards for its radio
# neighbours and takes static routes (`nib route add`), as in multi-hop topologies
# (tests/riot/c2c.sh step 4); a host node takes only default routes.
ifeq (1,$(LWM2M_ROUTER))
  USEMODULE += gnrc_ipv6_router_default
  # No Router Advertisements (see apps/forwarder/Makefile): routes stay the static ones.
  CFLAGS += -DCONFIG_GNRC_IPV6_NIB_MULTIHOP_P6C_AUTO_ADV=0
  # Room for the next hops of the static routes (RIOT's 6LR default is 4 neighbours).
  CFLAGS += -DCONFIG_GNRC_IPV6_NIB_NUMOF=16
else
  USEMODULE += gnrc_ipv6_default
endif
USEMODULE += gnrc_icmpv6_echo
USEMODULE += shell
USEMODULE += shell_cmds_default
USEMODULE += ps

# Server URI: link-local needs the interface number (native64 with one tap: 6).
LWM2M_SERVER_URI ?= coap://[fe80::1%6]:5683
CFLAGS += -DCONFIG_LWM2M_SERVER_URI='"$(LWM2M_SERVER_URI)"'
# DTLS (LWM2M_DTLS=1, coaps:// server URI): the initial account's PSK identity (text) and key
# (hex), e.g. LWM2M_SERVER_URI='coaps://[fe80::1%6]:5684' LWM2M_PSK_ID=node1 LWM2M_PSK_KEY=0011...
ifneq (,$(LWM2M_PSK_ID))
  CFLAGS += -DCONFIG_LWM2M_PSK_ID='"$(LWM2M_PSK_ID)"' -DCONFIG_LWM2M_PSK_KEY='"$(LWM2M_PSK_KEY)"'
endif
# OSCORE to the server (LWM2M_OSCORE=1, coap:// server URI): the initial account's context,
# secret:salt:sid:rid in hex, the node's view, e.g. LWM2M_SERVER_OSCORE=00112233...:99:01:02;
# needs sequence-number storage, LWM2M_OSCORE_SEQNO=mtd (c_glue/lwm2m_c2c/README.md).
ifneq (,$(LWM2M_SERVER_OSCORE))
  CFLAGS += -DCONFIG_LWM2M_SERVER_OSCORE='"$(LWM2M_SERVER_OSCORE)"'
endif
# Endpoint name (apps/lwm2m-client; default: derived from the node's hardware address).
ifneq (,$(LWM2M_ENDPOINT))
  CFLAGS += -DLWM2M_ENDPOINT='"$(LWM2M_ENDPOINT)"'
endif
# Start registering at boot (0: wait for `lwm2m start`).
LWM2M_AUTOSTART ?= 1
CFLAGS += -DLWM2M_AUTOSTART=$(LWM2M_AUTOSTART)

DEVELHELP ?= 1
QUIET ?= 1

include $(RIOTBASE)/Makefile.include

# Flash / RAM per module group (engine, driver, glue, gcoap, GNRC, ...) from the link map:
#   make BOARD=iotlab-m3 all footprint
footprint:
	@python3 $(LWM2M_C2C_DIR)/tests/riot/footprint.py $(BINDIR)/$(APPLICATION).map
.PHONY: footprint
