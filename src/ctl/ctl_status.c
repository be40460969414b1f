/* funnelctl status — processing state of one consumer group: offsets,
 * watermarks and lag per partition, outbox depth and owner epoch per
 * partition pair, counters, DLQ reasons, layout. */
#include "ctl_cmds.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_PARTS 4096

enum { O_TOPIC, O_PART, O_OFFSET, O_WATERMARK, O_LAG, O__CNT };

static const ctl_col offset_cols[O__CNT] = {
        {"topic", CTL_STR, NULL},    {"partition", CTL_INT, NULL},
        {"offset", CTL_INT, "none"}, {"watermark", CTL_INT, "unknown"},
        {"lag", CTL_INT, "unknown"},
};

enum { P_PART, P_EPOCH, P_OUTBOX, P__CNT };

static const ctl_col part_cols[P__CNT] = {
        {"partition", CTL_INT, NULL},
        {"epoch", CTL_INT, "none"},
        {"outbox_depth", CTL_INT, NULL},
};

enum { KV_NAME, KV_VALUE, KV__CNT };

static const ctl_col total_cols[KV__CNT] = {
        {"counter", CTL_STR, NULL},
        {"value", CTL_INT, "unknown"},
};

static const ctl_col dlq_cols[KV__CNT] = {
        {"reason", CTL_STR, NULL},
        {"messages", CTL_INT, NULL},
};

static const ctl_col meta_cols[KV__CNT] = {
        {"key", CTL_STR, NULL},
        {"value", CTL_STR, "unknown"},
};

/* One "<topic>:<partition>" row. */
typedef struct offset_row {
        char *field; /* owned copy, split at the last ':' */
        const char *topic;
        long partition;
} offset_row;

int ctl_status_check(ctl_ctx *ctx)
{
        if (ctx->opt.tenant) {
                snprintf(ctx->errstr, sizeof(ctx->errstr),
                         "status is per consumer group, not per tenant: drop "
                         "--tenant (choose the group with --group G)");
                return CTL_EXIT_USAGE;
        }
        return CTL_EXIT_OK;
}

static int group_key(ctl_ctx *ctx, char *buf, size_t size, const char *what)
{
        if ((size_t)snprintf(buf, size, "%s:%s:%s", ctx->prefix, what,
                             ctx->group) < size)
                return 0;
        snprintf(ctx->errstr, sizeof(ctx->errstr),
                 "--group or --prefix is too long; use shorter names");
        return -1;
}

static int cmp_row(const void *a, const void *b)
{
        const offset_row *x = a, *y = b;
        int c = strcmp(x->topic, y->topic);
        if (c)
                return c;
        return x->partition < y->partition ? -1 : x->partition > y->partition;
}

static int cmp_long(const void *a, const void *b)
{
        long x = *(const long *)a, y = *(const long *)b;
        return x < y ? -1 : x > y;
}

/* Builds the sorted rows of every "<topic>:<partition>" field of offsets or
 * watermarks. Returns the row count or -1. */
static long collect_rows(const ctl_hash *offsets, const ctl_hash *marks,
                         offset_row **out)
{
        const ctl_hash *hs[2] = {offsets, marks};
        size_t cap = offsets->cnt + marks->cnt + 1, n = 0;
        offset_row *rows = calloc(cap, sizeof(*rows));
        if (!rows)
                return -1;
        for (int k = 0; k < 2; k++) {
                for (size_t i = 0; i < hs[k]->cnt; i++) {
                        const char *f = hs[k]->field[i];
                        char *colon, *end;
                        long p;
                        int seen = 0;
                        colon = strrchr(f, ':');
                        if (!colon)
                                continue; /* e.g. watermarks' updated_at */
                        p = strtol(colon + 1, &end, 10);
                        if (*end || end == colon + 1)
                                continue;
                        for (size_t j = 0; j < n && !seen; j++)
                                seen = rows[j].partition == p &&
                                       strlen(rows[j].topic) ==
                                               (size_t)(colon - f) &&
                                       !strncmp(rows[j].topic, f, colon - f);
                        if (seen)
                                continue;
                        rows[n].field = strdup(f);
                        if (!rows[n].field)
                                break;
                        rows[n].field[colon - f] = '\0';
                        rows[n].topic = rows[n].field;
                        rows[n].partition = p;
                        n++;
                }
        }
        qsort(rows, n, sizeof(*rows), cmp_row);
        *out = rows;
        return (long)n;
}

/* Adds the offsets table; *lag is the total lag, -1 when unknown. */
static void add_offsets(ctl_ctx *ctx, const offset_row *rows, long n,
                        const ctl_hash *offsets, const ctl_hash *marks,
                        int64_t *lag)
{
        ctl_table *t = ctl_doc_table(ctx->doc, "offsets", offset_cols, O__CNT);
        *lag = n > 0 ? 0 : -1;
        for (long i = 0; i < n; i++) {
                char field[600];
                const char *o, *w;
                int64_t off = 0, mark = 0, d;
                snprintf(field, sizeof(field), "%s:%ld", rows[i].topic,
                         rows[i].partition);
                o = ctl_hash_get(offsets, field);
                w = ctl_hash_get(marks, field);
                ctl_row(t);
                ctl_set_str(t, O_TOPIC, rows[i].topic);
                ctl_set_int(t, O_PART, rows[i].partition);
                if (o && !ctl_parse_i64(o, &off))
                        ctl_set_int(t, O_OFFSET, off);
                if (w && !ctl_parse_i64(w, &mark))
                        ctl_set_int(t, O_WATERMARK, mark);
                if (!w || ctl_parse_i64(w, &mark) || ctl_parse_i64(o, &off)) {
                        *lag = -1;
                        continue;
                }
                /* no stored offset: nothing consumed yet, lag = watermark */
                d = mark - off > 0 ? mark - off : 0;
                ctl_set_int(t, O_LAG, d);
                if (*lag >= 0)
                        *lag += d;
        }
}

static int add_partitions(ctl_ctx *ctx, const offset_row *rows, long n)
{
        long parts[MAX_PARTS];
        size_t cnt = 0;
        ctl_table *t = ctl_doc_table(ctx->doc, "partitions", part_cols, P__CNT);
        for (long i = 0; i < n && cnt < MAX_PARTS; i++) {
                int seen = 0;
                for (size_t j = 0; j < cnt && !seen; j++)
                        seen = parts[j] == rows[i].partition;
                if (!seen)
                        parts[cnt++] = rows[i].partition;
        }
        qsort(parts, cnt, sizeof(*parts), cmp_long);
        for (size_t i = 0; i < cnt; i++) {
                redisReply *epoch, *depth;
                int64_t v;
                epoch = ctl_redis_cmd(&ctx->redis, ctx->errstr,
                                      sizeof(ctx->errstr),
                                      "GET %s:epoch:%s:%ld", ctx->prefix,
                                      ctx->group, parts[i]);
                if (!epoch)
                        return CTL_EXIT_RUNTIME;
                depth = ctl_redis_cmd(&ctx->redis, ctx->errstr,
                                      sizeof(ctx->errstr),
                                      "LLEN %s:outbox:%s:%ld", ctx->prefix,
                                      ctx->group, parts[i]);
                if (!depth) {
                        freeReplyObject(epoch);
                        return CTL_EXIT_RUNTIME;
                }
                ctl_row(t);
                ctl_set_int(t, P_PART, parts[i]);
                if (epoch->type == REDIS_REPLY_STRING &&
                    !ctl_parse_i64(epoch->str, &v))
                        ctl_set_int(t, P_EPOCH, v);
                ctl_set_int(t, P_OUTBOX,
                            depth->type == REDIS_REPLY_INTEGER ? depth->integer
                                                               : 0);
                freeReplyObject(epoch);
                freeReplyObject(depth);
        }
        return CTL_EXIT_OK;
}

/* Adds every field of hash key as a row (name, integer value) to t. */
static int add_counters(ctl_ctx *ctx, const char *key, ctl_table *t, int sort)
{
        ctl_hash h;
        size_t *order;
        if (ctl_redis_hgetall(&ctx->redis, key, &h, ctx->errstr,
                              sizeof(ctx->errstr)))
                return CTL_EXIT_RUNTIME;
        order = calloc(h.cnt + 1, sizeof(*order));
        for (size_t i = 0; order && i < h.cnt; i++)
                order[i] = i;
        /* small hashes: insertion sort by name */
        for (size_t i = 1; sort && order && i < h.cnt; i++)
                for (size_t j = i; j > 0 && strcmp(h.field[order[j - 1]],
                                                   h.field[order[j]]) > 0;
                     j--) {
                        size_t x = order[j];
                        order[j] = order[j - 1];
                        order[j - 1] = x;
                }
        for (size_t i = 0; order && i < h.cnt; i++) {
                int64_t v;
                ctl_row(t);
                ctl_set_str(t, KV_NAME, h.field[order[i]]);
                if (!ctl_parse_i64(h.value[order[i]], &v))
                        ctl_set_int(t, KV_VALUE, v);
        }
        free(order);
        ctl_hash_free(&h);
        return CTL_EXIT_OK;
}

static int add_meta(ctl_ctx *ctx, const ctl_hash *marks)
{
        char key[600], age[32];
        const char *updated = ctl_hash_get(marks, "updated_at");
        ctl_table *t = ctl_doc_table(ctx->doc, "meta", meta_cols, KV__CNT);
        ctl_hash meta;
        int64_t ms;

        snprintf(key, sizeof(key), "%s:meta", ctx->prefix);
        if (ctl_redis_hgetall(&ctx->redis, key, &meta, ctx->errstr,
                              sizeof(ctx->errstr)))
                return CTL_EXIT_RUNTIME;
        ctl_row(t);
        ctl_set_str(t, KV_NAME, "prefix");
        ctl_set_str(t, KV_VALUE, ctx->prefix);
        ctl_row(t);
        ctl_set_str(t, KV_NAME, "group");
        ctl_set_str(t, KV_VALUE, ctx->group);
        ctl_row(t);
        ctl_set_str(t, KV_NAME, "layout_version");
        ctl_set_str(t, KV_VALUE, ctl_hash_get(&meta, "layout_version"));
        ctl_row(t);
        ctl_set_str(t, KV_NAME, "writer");
        ctl_set_str(t, KV_VALUE, ctl_hash_get(&meta, "writer"));
        ctl_row(t);
        ctl_set_str(t, KV_NAME, "watermarks_updated_at");
        if (updated && !ctl_parse_i64(updated, &ms)) {
                char iso[40];
                struct timespec now;
                ctl_iso_ms(ms, iso, sizeof(iso));
                ctl_set_str(t, KV_VALUE, iso);
                clock_gettime(CLOCK_REALTIME, &now);
                snprintf(age, sizeof(age), "%.1f",
                         ((double)now.tv_sec * 1000.0 +
                          (double)now.tv_nsec / 1e6 - (double)ms) /
                                 1000.0);
                ctl_row(t);
                ctl_set_str(t, KV_NAME, "watermarks_age_s");
                ctl_set_str(t, KV_VALUE, age);
        }
        ctl_hash_free(&meta);
        return CTL_EXIT_OK;
}

static void add_notes(ctl_ctx *ctx, long n, const ctl_hash *marks,
                      const char *okey, const char *wkey)
{
        if (n == 0)
                ctl_doc_note(ctx->doc,
                             "no offsets stored in %s: funneld has not "
                             "committed anything for group '%s' yet; check "
                             "--group / funneld.group.id",
                             okey, ctx->group);
        if (!marks->cnt)
                ctl_doc_note(ctx->doc,
                             "%s does not exist: the high watermarks (and so "
                             "the lag) are unknown; a funneld that records "
                             "them must be running",
                             wkey);
        ctl_doc_note(ctx->doc,
                     "watermarks are the end offsets as funneld last saw "
                     "them; lag = watermark - offset");
}

int ctl_status_run(ctl_ctx *ctx)
{
        char okey[600], wkey[600], skey[600], dkey[700];
        ctl_hash offsets = {0}, marks = {0};
        offset_row *rows = NULL;
        ctl_table *totals;
        int64_t lag;
        long n = 0;
        int rc = CTL_EXIT_RUNTIME;

        if (group_key(ctx, okey, sizeof(okey), "offsets") ||
            group_key(ctx, wkey, sizeof(wkey), "watermarks") ||
            group_key(ctx, skey, sizeof(skey), "stats"))
                return CTL_EXIT_RUNTIME;
        snprintf(dkey, sizeof(dkey), "%s:dlq", skey);
        if (ctl_redis_hgetall(&ctx->redis, okey, &offsets, ctx->errstr,
                              sizeof(ctx->errstr)) ||
            ctl_redis_hgetall(&ctx->redis, wkey, &marks, ctx->errstr,
                              sizeof(ctx->errstr)))
                goto done;
        n = collect_rows(&offsets, &marks, &rows);
        if (n < 0) {
                n = 0;
                snprintf(ctx->errstr, sizeof(ctx->errstr), "out of memory");
                goto done;
        }
        add_offsets(ctx, rows, n, &offsets, &marks, &lag);
        if (add_partitions(ctx, rows, n))
                goto done;
        totals = ctl_doc_table(ctx->doc, "totals", total_cols, KV__CNT);
        ctl_row(totals);
        ctl_set_str(totals, KV_NAME, "lag");
        if (lag >= 0)
                ctl_set_int(totals, KV_VALUE, lag);
        if (add_counters(ctx, skey, totals, 1) ||
            add_counters(ctx, dkey,
                         ctl_doc_table(ctx->doc, "dlq", dlq_cols, KV__CNT),
                         1) ||
            add_meta(ctx, &marks))
                goto done;
        add_notes(ctx, n, &marks, okey, wkey);
        rc = CTL_EXIT_OK;
done:
        for (long i = 0; i < n; i++)
                free(rows[i].field);
        free(rows);
        ctl_hash_free(&offsets);
        ctl_hash_free(&marks);
        return rc;
}
