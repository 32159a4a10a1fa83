/*
 * SPDX-License-Identifier: MIT OR Apache-2.0
 */

/**
 * @ingroup     lwm2m_c2c
 * @{
 *
 * @file
 * @brief       Storage of OSCORE sequence-number limits (RFC 8613 B.1.1), LWM2M_OSCORE=1
 *
 * The Rust side reserves sequence numbers of a context with factory material in steps and
 * records the new limit here before it uses any of them; after a reboot it continues above
 * the stored limit. `LWM2M_OSCORE_SEQNO=mtd`: one 16-byte record (magic, Short Server ID,
 * limit) on a page of MTD_0 (@ref CONFIG_LWM2M_OSCORE_SEQNO_PAGE; on native the file given
 * with `--mtd=<file>`, on iotlab-m3 the SPI NOR flash), written with mtd_write_page (erase
 * as needed). `LWM2M_OSCORE_SEQNO=none`: no storage, every call answers -ENOTSUP (and the
 * Rust side refuses factory OSCORE material).
 */

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "lwm2m_c2c.h"

#if LWM2M_C2C_SEQNO_MTD
#include "board.h"
#include "mtd.h"
#include "mutex.h"

#define SEQNO_MAGIC 0x5153574cUL    /* "LWSQ" */

typedef struct {
    uint32_t magic;
    uint16_t ssid;
    uint16_t ssid_inv;              /* ~ssid: a half-written record does not match */
    uint64_t limit;
} seqno_record_t;

static mutex_t _seqno_lock = MUTEX_INIT;
static bool _seqno_ready;

/* The record's page (MTD_0 initialized on first use); -ENODEV without a usable device. */
static int _seqno_page(uint32_t *page)
{
    mtd_dev_t *mtd = MTD_0;
    if (!_seqno_ready) {
        if (mtd == NULL || mtd_init(mtd) != 0) {
            return -ENODEV;
        }
        _seqno_ready = true;
    }
    uint32_t pages = mtd->sector_count * mtd->pages_per_sector;
    if (pages == 0 || mtd->page_size < sizeof(seqno_record_t)) {
        return -ENODEV;
    }
    long want = CONFIG_LWM2M_OSCORE_SEQNO_PAGE;
    if (want >= (long)pages) {
        return -ENODEV;
    }
    *page = want < 0 ? pages - 1 : (uint32_t)want;
    return 0;
}

int lwm2m_c2c_glue_seqno_load(uint16_t ssid, uint64_t *limit)
{
    seqno_record_t r;
    uint32_t page;
    mutex_lock(&_seqno_lock);
    int res = _seqno_page(&page);
    if (res == 0) {
        res = mtd_read_page(MTD_0, &r, page, 0, sizeof(r));
    }
    mutex_unlock(&_seqno_lock);
    if (res < 0) {
        return res;
    }
    if (r.magic != SEQNO_MAGIC || r.ssid != ssid || (uint32_t)r.ssid_inv + ssid != 0xffffu) {
        return -ENOENT;
    }
    *limit = r.limit;
    return 0;
}

int lwm2m_c2c_glue_seqno_store(uint16_t ssid, uint64_t limit)
{
    seqno_record_t r = {
        .magic = SEQNO_MAGIC, .ssid = ssid, .ssid_inv = (uint16_t)(0xffffu ^ ssid), .limit = limit,
    };
    uint32_t page;
    mutex_lock(&_seqno_lock);
    int res = _seqno_page(&page);
    if (res == 0) {
        res = mtd_write_page(MTD_0, &r, page, 0, sizeof(r));
    }
    mutex_unlock(&_seqno_lock);
    return res < 0 ? res : 0;
}

#else /* no storage in the build */

int lwm2m_c2c_glue_seqno_load(uint16_t ssid, uint64_t *limit)
{
    (void)ssid;
    (void)limit;
    return -ENOTSUP;
}

int lwm2m_c2c_glue_seqno_store(uint16_t ssid, uint64_t limit)
{
    (void)ssid;
    (void)limit;
    return -ENOTSUP;
}

#endif

/** @} */
