/*
 * SPDX-License-Identifier: MIT OR Apache-2.0
 */

/**
 * @file
 * @brief       IPv6 router on the radio for multi-hop topologies (no LwM2M)
 *
 * Prints its interfaces and runs the shell; routes are added with `nib route add`.
 */

#include <stdio.h>

#include "msg.h"
#include "net/gnrc/netif.h"
#include "shell.h"

#define MAIN_QUEUE_SIZE     (8)
static msg_t _main_msg_queue[MAIN_QUEUE_SIZE];

int main(void)
{
    /* The shell thread gets ping replies: give it a queue. */
    msg_init_queue(_main_msg_queue, MAIN_QUEUE_SIZE);

    gnrc_netif_t *netif = NULL;
    while ((netif = gnrc_netif_iter(netif))) {
        printf("forwarder: iface %u\n", netif->pid);
    }

    char line_buf[SHELL_DEFAULT_BUFSIZE];
    shell_run(NULL, line_buf, SHELL_DEFAULT_BUFSIZE);
    return 0;
}
