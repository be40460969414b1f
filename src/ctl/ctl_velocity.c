/* funnelctl velocity — time in stage: per stage that can be left (lead, mql,
 * sql, opportunity) the stays counted in P:{T}:velocity:<stage> (sum_ms,
 * count and the histogram buckets le:1h .. le:inf), optionally per source
 * channel (P:{T}:velocity:<stage>:channel:<ch>, channels from
 * P:{T}:dim:channel): count, mean, and the buckets holding the median and
 * the 90th percentile. */
#include "ctl_cmds.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "funneld/stage.h"
#include "funneld/timebucket.h"

/* The stages a lead can leave (terminal stages are never left). */
static const char *const vel_stages[] = {"lead", "mql", "sql", "opportunity"};
#define VEL_STAGE_CNT 4

/* The histogram of docs/REDIS.md (funneld/stage.h). */
#define VEL_BUCKET_CNT FD_VELOCITY_BUCKET_CNT

/* The fields read from each velocity hash, in this order. */
enum { F_SUM, F_COUNT, F_BUCKET0, F__CNT = F_BUCKET0 + VEL_BUCKET_CNT };

/* Columns of table "velocity" with --by channel; without it the channel
 * column is left out (col() maps the indexes). */
enum {
        V_STAGE,
        V_CHANNEL,
        V_COUNT,
        V_SUM_MS,
        V_MEAN_MS,
        V_MEAN_DAYS,
        V_MEDIAN,
        V_MEDIAN_MS,
        V_P90,
        V_P90_MS,
        V_BUCKET0,
        V__CNT = V_BUCKET0 + VEL_BUCKET_CNT
};

#define VEL_TAIL_COLS                                                          \
        {"count", CTL_INT, NULL}, {"sum_ms", CTL_INT, NULL},                   \
                {"mean_ms", CTL_INT, NULL}, {"mean_days", CTL_REAL, NULL},     \
                {"median_bucket", CTL_STR, NULL},                              \
                {"median_le_ms", CTL_INT, NULL},                               \
                {"p90_bucket", CTL_STR, NULL}, {"p90_le_ms", CTL_INT, NULL},   \
                {"le:1h", CTL_INT, NULL}, {"le:1d", CTL_INT, NULL},            \
                {"le:3d", CTL_INT, NULL}, {"le:7d", CTL_INT, NULL},            \
                {"le:14d", CTL_INT, NULL}, {"le:30d", CTL_INT, NULL},          \
                {"le:60d", CTL_INT, NULL}, {"le:90d", CTL_INT, NULL},          \
        {                                                                      \
                "le:inf", CTL_INT, NULL                                        \
        }

static const ctl_col stage_cols[V__CNT - 1] = {
        {"stage", CTL_STR, NULL},
        VEL_TAIL_COLS,
};

static const ctl_col channel_cols[V__CNT] = {
        {"stage", CTL_STR, NULL},
        {"channel", CTL_STR, NULL},
        VEL_TAIL_COLS,
};

/* The table column of V_* column c. */
static size_t col(int by_channel, int c)
{
        return (size_t)(by_channel || c < V_CHANNEL ? c : c - 1);
}

/* 1 with --by channel, 0 without, -1 for another --by. */
static int by_channel(const ctl_opts *o)
{
        if (!o->by)
                return 0;
        return !strcmp(o->by, "channel") ? 1 : -1;
}

int ctl_velocity_check(ctl_ctx *ctx)
{
        const ctl_opts *o = &ctx->opt;
        if (!o->tenant)
                return ctl_usage(ctx, "velocity needs --tenant T");
        if (by_channel(o) < 0) {
                snprintf(ctx->errstr, sizeof(ctx->errstr),
                         "--by '%s' is not a velocity breakdown; use --by "
                         "channel (per source channel) or leave --by out "
                         "(per stage)",
                         o->by);
                return CTL_EXIT_USAGE;
        }
        if (o->month || o->from || o->to || o->model || o->currency ||
            o->days || o->until || o->date)
                return ctl_usage(ctx, "velocity takes --by channel only: the "
                                      "time in stage is counted for all "
                                      "time (no --month, --from/--to, "
                                      "--model, --currency, --days, --until "
                                      "or --date)");
        return CTL_EXIT_OK;
}

/* Index of the bucket holding the pct-th percentile of the histogram n
 * (the first whose running total reaches pct % of all stays), or -1 when
 * the histogram is empty. */
static int quantile_bucket(const int64_t *n, int pct)
{
        int64_t total = 0, run = 0;
        for (int b = 0; b < VEL_BUCKET_CNT; b++)
                total += n[b];
        if (total <= 0)
                return -1;
        for (int b = 0; b < VEL_BUCKET_CNT; b++) {
                run += n[b];
                if (run * 100 >= total * pct)
                        return b;
        }
        return VEL_BUCKET_CNT - 1;
}

/* Sets the bucket label and its upper bound (NULL for le:inf) of the
 * pct-th percentile; both NULL for an empty histogram. */
static void set_quantile(ctl_table *t, int by, int label_col, int ms_col,
                         const int64_t *buckets, int pct)
{
        int b = quantile_bucket(buckets, pct);
        if (b < 0)
                return;
        ctl_set_str(t, col(by, label_col), fd_velocity_bucket_field[b]);
        if (b < VEL_BUCKET_CNT - 1) /* le:inf has no bound */
                ctl_set_int(t, col(by, ms_col), fd_velocity_bucket_ms[b]);
}

/* Reads P:{T}:<suffix> and adds its row. *mismatch is set when the bucket
 * counts do not add up to count. */
static int add_row(ctl_ctx *ctx, ctl_table *t, int by, const char *stage,
                   const char *channel, const char *suffix, int *mismatch)
{
        const char *fields[F__CNT] = {"sum_ms", "count"};
        int64_t v[F__CNT], buckets = 0;
        int rc;

        for (int b = 0; b < VEL_BUCKET_CNT; b++)
                fields[F_BUCKET0 + b] = fd_velocity_bucket_field[b];
        rc = ctl_read_counts(ctx, suffix, fields, F__CNT, v);
        if (rc != CTL_EXIT_OK)
                return rc;
        ctl_row(t);
        ctl_set_str(t, col(by, V_STAGE), stage);
        if (by)
                ctl_set_str(t, col(by, V_CHANNEL), channel);
        ctl_set_int(t, col(by, V_COUNT), v[F_COUNT]);
        ctl_set_int(t, col(by, V_SUM_MS), v[F_SUM]);
        if (v[F_COUNT] > 0) {
                /* rounded to the nearest ms; sums are non-negative */
                ctl_set_int(t, col(by, V_MEAN_MS),
                            (v[F_SUM] + v[F_COUNT] / 2) / v[F_COUNT]);
                ctl_set_real(t, col(by, V_MEAN_DAYS),
                             (double)v[F_SUM] / (double)v[F_COUNT] /
                                     (double)FD_DAY_MS,
                             4);
        }
        set_quantile(t, by, V_MEDIAN, V_MEDIAN_MS, v + F_BUCKET0, 50);
        set_quantile(t, by, V_P90, V_P90_MS, v + F_BUCKET0, 90);
        for (int b = 0; b < VEL_BUCKET_CNT; b++) {
                ctl_set_int(t, col(by, V_BUCKET0 + b), v[F_BUCKET0 + b]);
                buckets += v[F_BUCKET0 + b];
        }
        if (buckets != v[F_COUNT])
                *mismatch = 1;
        return CTL_EXIT_OK;
}

static int cmp_str(const void *a, const void *b)
{
        return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* SMEMBERS P:{T}:dim:channel into *reply; *names (caller frees) points at
 * its strings, sorted. */
static int read_channels(ctl_ctx *ctx, redisReply **reply, const char ***names,
                         size_t *cnt)
{
        char key[512];
        *reply = NULL;
        *names = NULL;
        *cnt = 0;
        if (ctl_tenant_key(ctx, key, sizeof(key), "dim:channel"))
                return CTL_EXIT_RUNTIME;
        *reply = ctl_redis_cmd(&ctx->redis, ctx->errstr, sizeof(ctx->errstr),
                               "SMEMBERS %s", key);
        if (!*reply)
                return CTL_EXIT_RUNTIME;
        if ((*reply)->type != REDIS_REPLY_ARRAY) {
                snprintf(ctx->errstr, sizeof(ctx->errstr),
                         "unexpected reply to SMEMBERS %s; check that it is "
                         "a set as docs/REDIS.md describes",
                         key);
                return CTL_EXIT_RUNTIME;
        }
        *names = calloc((*reply)->elements + 1, sizeof(**names));
        if (!*names) {
                snprintf(ctx->errstr, sizeof(ctx->errstr), "out of memory");
                return CTL_EXIT_RUNTIME;
        }
        for (size_t i = 0; i < (*reply)->elements; i++) {
                const redisReply *e = (*reply)->element[i];
                if (e->type == REDIS_REPLY_STRING)
                        (*names)[(*cnt)++] = e->str;
        }
        qsort(*names, *cnt, sizeof(**names), cmp_str);
        return CTL_EXIT_OK;
}

int ctl_velocity_run(ctl_ctx *ctx)
{
        const int by = by_channel(&ctx->opt) == 1;
        redisReply *reply = NULL;
        const char **channels = NULL;
        size_t channel_cnt = 0;
        int mismatch = 0, rc;
        ctl_table *t;

        if ((rc = ctl_check_tenant(ctx)) != CTL_EXIT_OK)
                return rc;
        if (by && (rc = read_channels(ctx, &reply, &channels, &channel_cnt)))
                goto done;
        t = ctl_doc_table(ctx->doc, "velocity", by ? channel_cols : stage_cols,
                          by ? V__CNT : V__CNT - 1);
        for (int s = 0; s < VEL_STAGE_CNT; s++) {
                char suffix[512];
                if (!by) {
                        snprintf(suffix, sizeof(suffix), "velocity:%s",
                                 vel_stages[s]);
                        if ((rc = add_row(ctx, t, by, vel_stages[s], NULL,
                                          suffix, &mismatch)))
                                goto done;
                        continue;
                }
                for (size_t c = 0; c < channel_cnt; c++) {
                        /* channels are at most 256 bytes (FD_ID_MAX) */
                        snprintf(suffix, sizeof(suffix),
                                 "velocity:%s:channel:%s", vel_stages[s],
                                 channels[c]);
                        if ((rc = add_row(ctx, t, by, vel_stages[s],
                                          channels[c], suffix, &mismatch)))
                                goto done;
                }
        }
        ctl_doc_note(ctx->doc,
                     "a stay is counted under the stage a lead left (entered "
                     "in its current cycle, not implied), from its entry to "
                     "the next stage entry (event time), all time; terminal "
                     "stages are never left");
        ctl_doc_note(ctx->doc,
                     "median and p90 are read from the histogram: the first "
                     "bucket (upper bound inclusive) whose running count "
                     "reaches 50 %% / 90 %% of the stays; *_le_ms is that "
                     "bound (null for le:inf); buckets are not cumulative");
        if (by)
                ctl_doc_note(ctx->doc,
                             "channel: the lead's source channel (unknown "
                             "when its first event had none); every channel "
                             "of P:{T}:dim:channel is listed, 0 when it has "
                             "no stay");
        if (mismatch)
                ctl_doc_note(ctx->doc,
                             "some bucket counts do not add up to count (the "
                             "hash was changed by hand?): quantiles follow "
                             "the buckets, the mean sum_ms / count");
        rc = CTL_EXIT_OK;
done:
        free(channels);
        if (reply)
                freeReplyObject(reply);
        return rc;
}
