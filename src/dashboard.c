/* funneld — text dashboard of the live funnel. */
#include "dashboard.h"

#include <hiredis/hiredis.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "funneld/redis.h"
#include "funneld/stage.h"

#define TOP_CHANNELS 8

typedef struct channel_sum {
        char name[64];
        long long minor;
} channel_sum;

static long long hash_field(const redisReply *r, const char *field)
{
        if (!r || r->type != REDIS_REPLY_ARRAY)
                return 0;
        for (size_t i = 0; i + 1 < r->elements; i += 2)
                if (strcmp(r->element[i]->str, field) == 0)
                        return atoll(r->element[i + 1]->str);
        return 0;
}

static double pct(long long a, long long b)
{
        return b ? 100.0 * (double)a / (double)b : 0.0;
}

/* Adds the channel:<name> fields of a revenue hash into sums. */
static void add_channels(const redisReply *r, channel_sum *sums, size_t *cnt,
                         size_t cap)
{
        if (!r || r->type != REDIS_REPLY_ARRAY)
                return;
        for (size_t i = 0; i + 1 < r->elements; i += 2) {
                const char *f = r->element[i]->str;
                if (strncmp(f, "channel:", 8) != 0)
                        continue;
                size_t j = 0;
                while (j < *cnt && strcmp(sums[j].name, f + 8) != 0)
                        j++;
                if (j == *cnt) {
                        if (*cnt == cap)
                                continue;
                        snprintf(sums[j].name, sizeof(sums[j].name), "%s",
                                 f + 8);
                        sums[j].minor = 0;
                        (*cnt)++;
                }
                sums[j].minor += atoll(r->element[i + 1]->str);
        }
}

static int cmp_sum(const void *a, const void *b)
{
        const channel_sum *x = a, *y = b;
        return (x->minor < y->minor) - (x->minor > y->minor);
}

static const char *currencies[] = {"USD", "EUR", "GBP"};
#define CURRENCY_CNT 3

/* Prints one tenant's row and adds its channel revenue per currency. */
static void print_tenant(FILE *fp, redisContext *c, const char *p,
                         const char *t, channel_sum sums[][64], size_t *cnt)
{
        redisReply *tot = redisCommand(c, "HGETALL %s:{%s}:total", p, t);
        redisReply *rev = NULL;
        const char *cur = "USD";
        long long n[FD_STAGE__COUNT] = {0};

        for (int k = 0; k < CURRENCY_CNT; k++) {
                redisReply *r =
                        redisCommand(c, "HGETALL %s:{%s}:revenue:linear:%s", p,
                                     t, currencies[k]);
                add_channels(r, sums[k], &cnt[k], 64);
                if (!rev && r && r->type == REDIS_REPLY_ARRAY && r->elements) {
                        rev = r;
                        cur = currencies[k];
                } else if (r) {
                        freeReplyObject(r);
                }
        }
        for (int s = 1; s < FD_STAGE__COUNT; s++)
                n[s] = hash_field(tot, fd_stage_name(s));
        fprintf(fp,
                "  %-8s %8lld %7lld %7lld %7lld %6lld %6lld   %5.1f%% %5.1f%% "
                "%5.1f%%  %s %'.2f\n",
                t, n[FD_STAGE_LEAD], n[FD_STAGE_MQL], n[FD_STAGE_SQL],
                n[FD_STAGE_OPPORTUNITY], n[FD_STAGE_CLOSED_WON],
                n[FD_STAGE_CLOSED_LOST], pct(n[FD_STAGE_MQL], n[FD_STAGE_LEAD]),
                pct(n[FD_STAGE_SQL], n[FD_STAGE_MQL]),
                pct(n[FD_STAGE_CLOSED_WON], n[FD_STAGE_SQL]), cur,
                (double)hash_field(rev, "total") / 100.0);
        if (tot)
                freeReplyObject(tot);
        if (rev)
                freeReplyObject(rev);
}

void fd_dashboard_print(FILE *fp, const fd_config *conf, double elapsed_s,
                        int64_t generated)
{
        struct timeval tv = {2, 0};
        redisContext *c = fd_redis_connect(conf, tv);
        const char *p = conf->redis_prefix;
        static channel_sum sums[CURRENCY_CNT][64];
        size_t cnt[CURRENCY_CNT] = {0};

        if (!c || c->err) {
                if (c)
                        redisFree(c);
                return;
        }
        redisReply *tenants = redisCommand(c, "SMEMBERS %s:tenants", p);
        redisReply *stats =
                redisCommand(c, "HGETALL %s:stats:%s", p, conf->group_id);
        if (isatty(fileno(fp)) && elapsed_s >= 0)
                fputs("\033[H\033[2J", fp);
        fprintf(fp,
                "\nfunneld live funnel%s — %.0f s — generated %lld, "
                "processed %lld (%lld duplicates dropped)\n\n",
                elapsed_s < 0 ? " (final)" : "", elapsed_s < 0 ? 0 : elapsed_s,
                (long long)generated,
                hash_field(stats, "in:lead_events") +
                        hash_field(stats, "in:crm_events"),
                hash_field(stats, "duplicates"));
        fprintf(fp, "  %-8s %8s %7s %7s %7s %6s %6s   %6s %6s %6s  %s\n",
                "tenant", "leads", "MQL", "SQL", "opp", "won", "lost", "L>MQL",
                "MQL>SQL", "SQL>won", "won revenue");
        for (size_t i = 0; tenants && tenants->type == REDIS_REPLY_ARRAY &&
                           i < tenants->elements;
             i++)
                print_tenant(fp, c, p, tenants->element[i]->str, sums, cnt);
        for (int k = 0; k < CURRENCY_CNT; k++) {
                if (!cnt[k])
                        continue;
                qsort(sums[k], cnt[k], sizeof(sums[k][0]), cmp_sum);
                fprintf(fp,
                        "\n  top channels by attributed revenue (linear "
                        "model, %s)\n",
                        currencies[k]);
                for (size_t i = 0; i < cnt[k] && i < TOP_CHANNELS; i++)
                        fprintf(fp, "    %-16s %s %'14.2f\n", sums[k][i].name,
                                currencies[k],
                                (double)sums[k][i].minor / 100.0);
        }
        fflush(fp);
        if (tenants)
                freeReplyObject(tenants);
        if (stats)
                freeReplyObject(stats);
        redisFree(c);
}
