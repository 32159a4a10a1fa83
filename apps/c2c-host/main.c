/*
 * SPDX-License-Identifier: MIT OR Apache-2.0
 */

/**
 * @file
 * @brief       Hosting client of client-to-client experiments: a sensor (IPSO Temperature
 *              3303, defined in C) whose value is the sequence number of the reading, produced
 *              every `period` ms
 *
 * Every value produced prints `EV <ms> value_produced /3303/0/5700 <seq>` just before the
 * engine learns of it, so a requester's `notification_rx ... value=<seq>` line matches it.
 */

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lwm2m_c2c.h"
#include "shell.h"
#include "thread.h"
#include "ztimer.h"

#ifndef SENSOR_PERIOD_MS
#define SENSOR_PERIOD_MS 1000
#endif
#ifndef SENSOR_COUNT
#define SENSOR_COUNT (-1)
#endif

#define TEMP_OBJ 3303

static volatile uint32_t _period = SENSOR_PERIOD_MS;
static volatile int32_t _remaining = SENSOR_COUNT;  /* -1: no limit */
static volatile uint32_t _seq;                      /* last value produced */
static kernel_pid_t _sensor_pid = KERNEL_PID_UNDEF;
static char _sensor_stack[THREAD_STACKSIZE_DEFAULT];

static const lwm2m_c2c_resource_t _temp_res[] = {
    { 5700, LWM2M_C2C_OP_R, LWM2M_C2C_TYPE_FLOAT },      /* Sensor Value */
    { 5701, LWM2M_C2C_OP_R, LWM2M_C2C_TYPE_STRING },     /* Sensor Units */
};

static int _read(void *arg, uint16_t inst, uint16_t res, lwm2m_c2c_value_t *out)
{
    (void)arg;
    (void)inst;
    static const char units[] = "seq";
    switch (res) {
    case 5700:
        out->value.f = (double)_seq;
        return 0;
    case 5701:
        out->value.bytes.ptr = (const uint8_t *)units;
        out->value.bytes.len = sizeof(units) - 1;
        return 0;
    default:
        return -ENOENT;
    }
}

static const lwm2m_c2c_object_t _temp_obj = {
    .id = TEMP_OBJ,
    .instances = 1,
    .multiple = true,
    .resources = _temp_res,
    .resources_len = ARRAY_SIZE(_temp_res),
    .read = _read,
};

static void *_sensor_thread(void *arg)
{
    (void)arg;
    while (1) {
        uint32_t period = _period;
        if (period == 0 || _remaining == 0) {
            thread_sleep();     /* woken by the shell */
            continue;
        }
        ztimer_sleep(ZTIMER_MSEC, period);
        if (_period == 0 || _remaining == 0) {
            continue;
        }
        if (_remaining > 0) {
            _remaining--;
        }
        uint32_t seq = _seq + 1;
        lwm2m_c2c_ev("value_produced /3303/0/5700 %" PRIu32, seq);
        _seq = seq;
        lwm2m_c2c_changed(TEMP_OBJ, 0, 5700);
    }
    return NULL;
}

static int _sensor_cmd(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "period") == 0) {
        _period = strtoul(argv[2], NULL, 10);
    }
    else if (argc == 3 && strcmp(argv[1], "count") == 0) {
        _remaining = strtol(argv[2], NULL, 10);
    }
    else if (argc != 1) {
        printf("usage: %s [period <ms> | count <n>]  (period 0 stops; count -1: no limit)\n",
               argv[0]);
        return 1;
    }
    if (_sensor_pid != KERNEL_PID_UNDEF) {
        thread_wakeup(_sensor_pid);
    }
    printf("SENSOR period=%" PRIu32 " remaining=%" PRId32 " seq=%" PRIu32 "\n",
           (uint32_t)_period, (int32_t)_remaining, (uint32_t)_seq);
    return 0;
}

SHELL_COMMAND(sensor, "sensor [period <ms> | count <n>]", _sensor_cmd);

int main(void)
{
    char ep[32];

    /* Give SLAAC / link-local DAD a moment so the first Register has a source address. */
    ztimer_sleep(ZTIMER_MSEC, 1000);
    lwm2m_c2c_default_endpoint(ep, sizeof(ep));
    printf("c2c-host: endpoint %s, server %s\n", ep, CONFIG_LWM2M_SERVER_URI);

    int res = lwm2m_c2c_add_object(&_temp_obj);
    if (res == 0) {
        res = lwm2m_c2c_init(ep, CONFIG_LWM2M_SERVER_URI);
    }
    if (res < 0) {
        printf("c2c-host: init failed (%d)\n", res);
    }
    else {
        _sensor_pid = thread_create(_sensor_stack, sizeof(_sensor_stack),
                                    THREAD_PRIORITY_MAIN - 1, 0, _sensor_thread, NULL,
                                    "sensor");
        if (LWM2M_AUTOSTART) {
            lwm2m_c2c_start();
        }
    }

    char line_buf[SHELL_DEFAULT_BUFSIZE];
    shell_run(NULL, line_buf, SHELL_DEFAULT_BUFSIZE);
    return 0;
}
