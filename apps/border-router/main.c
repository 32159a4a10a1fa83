/*
 * SPDX-License-Identifier: MIT OR Apache-2.0
 */

/**
 * @file
 * @brief       6LoWPAN border router between a ZEP radio and a tap uplink (native64)
 *
 * The addresses, the default route and the advertised prefix are set by RIOT's
 * gnrc_ipv6_static_addr module during auto-init (see the Makefile); this prints them and
 * runs the shell (`ifconfig`, `nib route`, `nib neigh`, `ping`).
 */

#include <stdio.h>

#include "msg.h"
#include "net/gnrc/netif.h"
#include "net/netopt.h"
#include "shell.h"

#define MAIN_QUEUE_SIZE     (8)
static msg_t _main_msg_queue[MAIN_QUEUE_SIZE];

int main(void)
{
    /* The shell thread gets ping replies: give it a queue. */
    msg_init_queue(_main_msg_queue, MAIN_QUEUE_SIZE);

    gnrc_netif_t *netif = NULL;
    while ((netif = gnrc_netif_iter(netif))) {
        bool wired = gnrc_netapi_get(netif->pid, NETOPT_IS_WIRED, 0, NULL, 0) == 1;
        printf("border-router: iface %u %s\n", netif->pid,
               wired ? "upstream (tap)" : "downstream (radio)");
    }
    printf("border-router: upstream %s, downstream prefix %s\n", BR_UPSTREAM_ADDR,
           BR_DOWNSTREAM_PREFIX);

    char line_buf[SHELL_DEFAULT_BUFSIZE];
    shell_run(NULL, line_buf, SHELL_DEFAULT_BUFSIZE);
    return 0;
}
