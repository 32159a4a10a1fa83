/*
 * SPDX-License-Identifier: MIT OR Apache-2.0
 */

/**
 * @file
 * @brief       Server-centric baseline: the requesting side of the server's relay
 *
 * The server observes a hosting client's value and writes each one here (PUT on a resource
 * target, see rust/server/src/relay.rs). The target is the Set Point Value of an IPSO Set
 * Point object (3308/0/5900, float, read/write), defined in C; every accepted write prints
 * one `EV <ms> value_rx /3308/0/5900 <value>` line (value in thousandths, printed without
 * floating-point printf).
 */

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>

#include "lwm2m_c2c.h"
#include "shell.h"
#include "ztimer.h"

#define SETPOINT_OBJ 3308

static double _value;

static const lwm2m_c2c_resource_t _res[] = {
    { 5900, LWM2M_C2C_OP_R | LWM2M_C2C_OP_W, LWM2M_C2C_TYPE_FLOAT },  /* Set Point Value */
};

static int _read(void *arg, uint16_t inst, uint16_t res, lwm2m_c2c_value_t *out)
{
    (void)arg;
    (void)inst;
    if (res != 5900) {
        return -ENOENT;
    }
    out->value.f = _value;
    return 0;
}

static int _write(void *arg, uint16_t inst, uint16_t res, const lwm2m_c2c_value_t *v,
                  bool check_only)
{
    (void)arg;
    (void)inst;
    if (res != 5900) {
        return -EPERM;
    }
    if (!check_only) {
        _value = v->value.f;
        int64_t milli = (int64_t)(_value * 1000.0 + (_value < 0 ? -0.5 : 0.5));
        int64_t a = milli < 0 ? -milli : milli;
        lwm2m_c2c_ev("value_rx /3308/0/5900 %s%" PRId32 ".%03" PRId32, milli < 0 ? "-" : "",
                     (int32_t)(a / 1000), (int32_t)(a % 1000));
    }
    return 0;
}

static const lwm2m_c2c_object_t _obj = {
    .id = SETPOINT_OBJ,
    .instances = 1,
    .multiple = true,
    .resources = _res,
    .resources_len = ARRAY_SIZE(_res),
    .read = _read,
    .write = _write,
};

int main(void)
{
    char ep[32];

    /* Give SLAAC / link-local DAD a moment so the first Register has a source address. */
    ztimer_sleep(ZTIMER_MSEC, 1000);
    lwm2m_c2c_default_endpoint(ep, sizeof(ep));
    printf("baseline-client: endpoint %s, server %s\n", ep, CONFIG_LWM2M_SERVER_URI);
    int res = lwm2m_c2c_add_object(&_obj);
    if (res == 0) {
        res = lwm2m_c2c_init(ep, CONFIG_LWM2M_SERVER_URI);
    }
    if (res < 0) {
        printf("baseline-client: init failed (%d)\n", res);
    }
    else if (LWM2M_AUTOSTART) {
        lwm2m_c2c_start();
    }

    char line_buf[SHELL_DEFAULT_BUFSIZE];
    shell_run(NULL, line_buf, SHELL_DEFAULT_BUFSIZE);
    return 0;
}
