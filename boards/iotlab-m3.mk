# iotlab-m3 (FIT IoT-LAB M3: STM32F103REY, AT86RF231 radio), included by apps/*/Makefile.
# The radio and 6LoWPAN come with netdev_default / gnrc_ipv6_default. Server URIs on the
# testbed are global addresses behind the site's border router, e.g.
#   LWM2M_SERVER_URI='coap://[2001:db8::1]:5683'
# (a link-local one needs the radio interface number, usually 4 here; check with `ifconfig`).
# 802.15.4 channel (IoT-LAB default 11..26; pick one per experiment to avoid neighbours).
IEEE802154_DEFAULT_CHANNEL ?= 26
CFLAGS += -DCONFIG_IEEE802154_DEFAULT_CHANNEL=$(IEEE802154_DEFAULT_CHANNEL)

# PRNG seed from the SRAM PUF. The STM32F103 has no hardware RNG, so RIOT's random module would
# otherwise seed its PRNG from the CPU ID (luid): the same sequence on every boot of a node,
# hence the same CoAP tokens, message IDs and registration tokens after each reset. With
# puf_sram, the Cortex-M reset handler (cpu/cortexm_common/vectors_cortexm.c) hashes the
# power-up pattern of the first SEED_RAM_LEN words (512 bytes) of uninitialized SRAM with
# dek_hash into puf_sram_seed before .data/.bss are set up, and auto_init_random
# (sys/random/random.c) seeds the PRNG with it, ahead of periph_hwrng and the CPU ID.
# After a reset without power loss the SRAM still holds old data: puf_sram then derives the
# seed from the previous seed and a soft-reset counter and sets puf_sram_state = 1, which the
# module reports at init as `EVT kind=seed puf_sram_state=1` (0: fresh power-up pattern).
# The seed is 32 bits and the hash is not cryptographic (see RIOT's sys_puf_sram docs): good
# for tokens and message IDs, not for key material. PUF_SRAM=0 leaves the CPU ID seeding.
PUF_SRAM ?= 1
ifeq (1,$(PUF_SRAM))
  USEMODULE += puf_sram
endif
