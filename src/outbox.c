/* funneld — outbox encoding and draining. */
#include "outbox.h"

#include <stdlib.h>
#include <string.h>

#include "fault.h"
#include "kafka.h"
#include "log.h"

static int put_u(fd_buf *out, uint64_t v, int bytes)
{
        unsigned char b[8];
        for (int i = 0; i < bytes; i++)
                b[i] = (unsigned char)(v >> (8 * (bytes - 1 - i)));
        return fd_buf_append(out, b, (size_t)bytes);
}

int fd_outbox_encode(fd_buf *out, const char *topic, const void *key,
                     size_t key_len, const void *value, size_t value_len,
                     const fd_header *headers, size_t header_cnt)
{
        size_t tl = strlen(topic);
        int rc = put_u(out, 1, 1) || put_u(out, tl, 2) ||
                 fd_buf_append(out, topic, tl);
        rc = rc || put_u(out, key ? (uint32_t)key_len : 0xffffffffu, 4) ||
             (key && fd_buf_append(out, key, key_len));
        rc = rc || put_u(out, value_len, 4) ||
             fd_buf_append(out, value, value_len) || put_u(out, header_cnt, 2);
        for (size_t i = 0; i < header_cnt && !rc; i++) {
                size_t nl = strlen(headers[i].name);
                rc = put_u(out, nl, 2) ||
                     fd_buf_append(out, headers[i].name, nl) ||
                     put_u(out, headers[i].len, 4) ||
                     fd_buf_append(out, headers[i].value, headers[i].len);
        }
        return rc ? -1 : 0;
}

typedef struct reader {
        const unsigned char *p, *end;
} reader;

static int get_u(reader *rd, int bytes, uint64_t *v)
{
        if (rd->end - rd->p < bytes)
                return -1;
        *v = 0;
        for (int i = 0; i < bytes; i++)
                *v = (*v << 8) | *rd->p++;
        return 0;
}

static int get_bytes(reader *rd, uint64_t len, const void **data)
{
        if ((uint64_t)(rd->end - rd->p) < len)
                return -1;
        *data = rd->p;
        rd->p += len;
        return 0;
}

/* Produces one entry (copying its bytes). 0, or -1 when it is corrupt or
 * the producer refused it. */
static int produce_entry(rd_kafka_t *rk, const void *data, size_t len)
{
        reader rd = {data, (const unsigned char *)data + len};
        uint64_t ver, tl, kl, vl, hc, nl, hl;
        const void *topic, *key = NULL, *value, *name, *hv;
        char tbuf[256];
        rd_kafka_headers_t *hdrs;

        if (get_u(&rd, 1, &ver) || ver != 1 || get_u(&rd, 2, &tl) ||
            tl >= sizeof(tbuf) || get_bytes(&rd, tl, &topic) ||
            get_u(&rd, 4, &kl) ||
            (kl != 0xffffffffu && get_bytes(&rd, kl, &key)) ||
            get_u(&rd, 4, &vl) || get_bytes(&rd, vl, &value) ||
            get_u(&rd, 2, &hc))
                return -1;
        memcpy(tbuf, topic, tl);
        tbuf[tl] = '\0';
        hdrs = rd_kafka_headers_new((size_t)hc);
        for (uint64_t i = 0; i < hc; i++) {
                if (get_u(&rd, 2, &nl) || get_bytes(&rd, nl, &name) ||
                    get_u(&rd, 4, &hl) || get_bytes(&rd, hl, &hv)) {
                        rd_kafka_headers_destroy(hdrs);
                        return -1;
                }
                rd_kafka_header_add(hdrs, name, (ssize_t)nl, hv, (ssize_t)hl);
        }
        rd_kafka_resp_err_t err =
                rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(tbuf),
                                  RD_KAFKA_V_KEY(key, key ? (size_t)kl : 0),
                                  RD_KAFKA_V_VALUE((void *)value, (size_t)vl),
                                  RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                  RD_KAFKA_V_HEADERS(hdrs), RD_KAFKA_V_END);
        if (err) {
                rd_kafka_headers_destroy(hdrs);
                FD_WARN("outbox", "cannot produce to %s: %s; will retry", tbuf,
                        rd_kafka_err2str(err));
                return -1;
        }
        return 0;
}

long fd_outbox_drain(fd_store *store, rd_kafka_t *rk, int32_t partition,
                     int64_t epoch, int flush_timeout_ms)
{
        long total = 0;
        for (;;) {
                redisReply *reply;
                fd_kafka_ctx *kctx = rd_kafka_opaque(rk);
                long failed_before = kctx->failed;
                size_t n;

                if (fd_store_outbox_peek(store, partition, 1000, &reply) != 0)
                        return FD_OUTBOX_REDIS_FAILED;
                n = reply->elements;
                for (size_t i = 0; i < n; i++) {
                        redisReply *e = reply->element[i];
                        if (produce_entry(rk, e->str, e->len)) {
                                FD_ERROR("outbox",
                                         "outbox entry %zu of partition %d "
                                         "cannot be produced; it stays in "
                                         "redis for the next attempt",
                                         i, (int)partition);
                                n = i;
                                break;
                        }
                }
                freeReplyObject(reply);
                if (n == 0)
                        return total;
                rd_kafka_resp_err_t ferr = rd_kafka_flush(rk, flush_timeout_ms);
                if (ferr || kctx->failed != failed_before) {
                        FD_WARN("outbox",
                                "delivery of %zu outbox events of partition %d "
                                "not confirmed (%s); they stay in redis and "
                                "will be produced again",
                                n, (int)partition,
                                ferr ? rd_kafka_err2str(ferr)
                                     : "delivery failed");
                        return -1;
                }
                fd_fault_point(
                        "outbox"); /* crash tests: delivered, untrimmed */
                int rc = fd_store_outbox_trim(store, partition, epoch, (long)n);
                if (rc == FD_STORE_ERR || rc == FD_STORE_PARTIAL)
                        return FD_OUTBOX_REDIS_FAILED;
                if (rc != FD_STORE_OK)
                        return FD_OUTBOX_FENCED; /* the new owner re-produces */
                total += (long)n;
                if (n < 1000)
                        return total;
        }
}
