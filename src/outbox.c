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
static int produce_entry(rd_kafka_t *rk, const void *data, size_t len,
                         void *opaque)
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
                                  RD_KAFKA_V_OPAQUE(opaque),
                                  RD_KAFKA_V_HEADERS(hdrs), RD_KAFKA_V_END);
        if (err) {
                rd_kafka_headers_destroy(hdrs);
                FD_WARN("outbox", "cannot produce to %s: %s; will retry", tbuf,
                        rd_kafka_err2str(err));
                return -1;
        }
        return 0;
}

/* A round: a prefix of one partition's outbox produced and not trimmed. Its
 * messages carry tag = seq * nparts + partition + 1 (seq counts rounds), so
 * a delivery report finds its partition and is ignored once the round was
 * forgotten. */
typedef struct fd_round {
        uintptr_t tag; /* 0: none in flight */
        long sent, acked, failed;
        int due; /* entries may wait in Redis */
} fd_round;

struct fd_outbox {
        int32_t nparts;
        uintptr_t seq;
        fd_round *rounds;
};

#define FD_OUTBOX_ROUND 1000 /* entries per round */

fd_outbox *fd_outbox_new(int32_t nparts)
{
        fd_outbox *ob = calloc(1, sizeof(*ob));
        if (!ob || !(ob->rounds = calloc((size_t)nparts, sizeof(fd_round)))) {
                free(ob);
                return NULL;
        }
        ob->nparts = nparts;
        fd_outbox_forget(ob);
        return ob;
}

void fd_outbox_free(fd_outbox *ob)
{
        if (ob)
                free(ob->rounds);
        free(ob);
}

void fd_outbox_due(fd_outbox *ob)
{
        for (int32_t p = 0; p < ob->nparts; p++)
                ob->rounds[p].due = 1;
}

void fd_outbox_forget(fd_outbox *ob)
{
        for (int32_t p = 0; p < ob->nparts; p++)
                ob->rounds[p] = (fd_round){.due = 1};
}

int fd_outbox_pending(const fd_outbox *ob, int32_t partition)
{
        const fd_round *r = &ob->rounds[partition];
        return r->tag != 0 || r->due;
}

void fd_outbox_delivered(fd_outbox *ob, void *msg_opaque,
                         rd_kafka_resp_err_t err)
{
        uintptr_t tag = (uintptr_t)msg_opaque;
        if (!ob || !tag)
                return;
        fd_round *r = &ob->rounds[(tag - 1) % (uintptr_t)ob->nparts];
        if (r->tag != tag)
                return; /* a forgotten round */
        if (err)
                r->failed++;
        else
                r->acked++;
}

/* Trims partition's round once all its deliveries are in: the count
 * trimmed, 0 while some are outstanding, or an FD_OUTBOX_ error. */
static long finish_round(fd_outbox *ob, fd_store *store, int32_t partition,
                         int64_t epoch)
{
        fd_round *r = &ob->rounds[partition];
        long n = r->sent;
        if (!r->tag || r->acked + r->failed < n)
                return 0;
        r->tag = 0;
        if (r->failed) {
                FD_WARN("outbox",
                        "delivery of %ld of %ld outbox events of partition %d "
                        "failed; they stay in redis and are produced again",
                        r->failed, n, (int)partition);
                r->due = 1;
                return -1;
        }
        fd_fault_point("outbox"); /* crash tests: delivered, untrimmed */
        int rc = fd_store_outbox_trim(store, partition, epoch, n);
        if (rc == FD_STORE_ERR || rc == FD_STORE_PARTIAL)
                return FD_OUTBOX_REDIS_FAILED;
        if (rc != FD_STORE_OK)
                return FD_OUTBOX_FENCED; /* the new owner re-produces */
        if (n == FD_OUTBOX_ROUND)
                r->due = 1; /* there may be more */
        return n;
}

/* Produces the next round of partition's outbox: 0, or an FD_OUTBOX_
 * error. */
static long start_round(fd_outbox *ob, fd_store *store, rd_kafka_t *rk,
                        int32_t partition)
{
        fd_round *r = &ob->rounds[partition];
        redisReply *reply;
        size_t n;

        if (fd_store_outbox_peek(store, partition, FD_OUTBOX_ROUND, &reply) !=
            0)
                return FD_OUTBOX_REDIS_FAILED;
        ob->seq++;
        *r = (fd_round){.tag = ob->seq * (uintptr_t)ob->nparts +
                               (uintptr_t)partition + 1};
        if (!r->tag)
                r->tag = (uintptr_t)partition + 1; /* seq wrapped to 0 */
        n = reply->elements;
        for (size_t i = 0; i < n; i++) {
                redisReply *e = reply->element[i];
                if (produce_entry(rk, e->str, e->len, (void *)r->tag)) {
                        FD_ERROR("outbox",
                                 "outbox entry %zu of partition %d cannot be "
                                 "produced; it stays in redis for the next "
                                 "attempt",
                                 i, (int)partition);
                        r->due = 1;
                        n = i;
                        break;
                }
        }
        freeReplyObject(reply);
        r->sent = (long)n;
        if (n == 0) {
                r->tag = 0;
                return r->due ? -1 : 0;
        }
        return 0;
}

long fd_outbox_pump(fd_outbox *ob, fd_store *store, rd_kafka_t *rk,
                    int32_t partition, int64_t epoch)
{
        fd_round *r = &ob->rounds[partition];
        long done = finish_round(ob, store, partition, epoch);
        if (done < 0 || r->tag || !r->due)
                return done;
        long rc = start_round(ob, store, rk, partition);
        return rc < 0 ? rc : done;
}

void fd_outbox_settle(fd_outbox *ob, fd_store *store, rd_kafka_t *rk,
                      const int32_t *partitions, const int64_t *epochs,
                      size_t cnt, int timeout_ms)
{
        int busy = 0;
        if (!ob)
                return;
        for (size_t i = 0; i < cnt; i++)
                busy |= ob->rounds[partitions[i]].tag != 0;
        if (!busy)
                return;
        rd_kafka_flush(rk, timeout_ms); /* serves the delivery reports */
        for (size_t i = 0; i < cnt; i++)
                if (finish_round(ob, store, partitions[i], epochs[i]) < 0)
                        break; /* warned, or redis is gone: the next owner
                                * produces what is left */
}
