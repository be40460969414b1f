/* funnelctl markov — data-driven attribution: the first-order Markov chain
 * of the tenant's closed journeys (P:{T}:markov[:M]), each channel's
 * removal effect and share, and the won revenue of the period
 * (P:{T}:sourcing[:M], revenue:<CUR>) split by those shares. */
#include "ctl_cmds.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "funneld/markov.h"

enum { MK_CHANNEL, MK_RE, MK_SHARE, MK_P_WITHOUT, MK__CNT };

static const ctl_col markov_cols[MK__CNT] = {
        {"channel", CTL_STR, NULL},
        {"removal_effect", CTL_REAL, NULL},
        {"share", CTL_REAL, NULL},
        {"conversion_without", CTL_REAL, NULL},
};

enum { SU_PERIOD, SU_JOURNEYS, SU_CONVERSIONS, SU_P, SU__CNT };

static const ctl_col summary_cols[SU__CNT] = {
        {"period", CTL_STR, NULL},
        {"journeys", CTL_INT, NULL},
        {"conversions", CTL_INT, NULL},
        {"conversion_probability", CTL_REAL, NULL},
};

enum { RV_CUR, RV_CHANNEL, RV_REVENUE, RV__CNT };

static const ctl_col revenue_cols[RV__CNT] = {
        {"currency", CTL_STR, NULL},
        {"channel", CTL_STR, NULL},
        {"revenue_minor", CTL_INT, NULL},
};

int ctl_markov_check(ctl_ctx *ctx)
{
        ctl_month m;
        if (!ctx->opt.tenant)
                return ctl_usage(ctx, "markov needs --tenant T");
        if (ctx->opt.month && ctl_month_parse(ctx->opt.month, &m))
                return ctl_usage(ctx,
                                 "--month is not a month; write it as YYYY-MM");
        return CTL_EXIT_OK;
}

/* The edges of the transition hash (fields "from|to" -> count). */
static fd_markov_edge *edges_of(const ctl_hash *h, size_t *n, int64_t *journeys,
                                int64_t *conversions)
{
        fd_markov_edge *edges = calloc(h->cnt + 1, sizeof(*edges));
        *n = 0;
        *journeys = *conversions = 0;
        if (!edges)
                return NULL;
        for (size_t i = 0; i < h->cnt; i++) {
                fd_markov_edge *e = &edges[*n];
                if (fd_markov_field_parse(h->field[i], strlen(h->field[i]),
                                          e) != 0 ||
                    ctl_parse_i64(h->value[i], &e->count) || e->count <= 0) {
                        fprintf(stderr,
                                "funnelctl: warning: markov field '%s' = "
                                "'%s' is not a transition count; ignored\n",
                                h->field[i], h->value[i]);
                        continue;
                }
                if (e->from_len == strlen(FD_MARKOV_START) &&
                    !memcmp(e->from, FD_MARKOV_START, e->from_len))
                        *journeys += e->count;
                if (e->to_len == strlen(FD_MARKOV_CONVERSION) &&
                    !memcmp(e->to, FD_MARKOV_CONVERSION, e->to_len))
                        *conversions += e->count;
                (*n)++;
        }
        return edges;
}

/* Splits each currency's won revenue of the period by the shares. */
static int add_revenue(ctl_ctx *ctx, const fd_markov_result *res,
                       ctl_table *rows)
{
        ctl_hash src;
        int64_t *parts;
        int rc = CTL_EXIT_OK;

        if (ctl_read_period_hash(ctx, "sourcing", &src))
                return CTL_EXIT_RUNTIME;
        parts = calloc(res->channel_cnt + 1, sizeof(*parts));
        if (!parts) {
                ctl_hash_free(&src);
                snprintf(ctx->errstr, sizeof(ctx->errstr), "out of memory");
                return CTL_EXIT_RUNTIME;
        }
        for (size_t i = 0; i < src.cnt; i++) {
                int64_t amount;
                if (strncmp(src.field[i], "revenue:", 8) != 0 ||
                    ctl_parse_i64(src.value[i], &amount) ||
                    fd_markov_split(res, amount, parts) != FD_MARKOV_OK)
                        continue;
                for (size_t c = 0; c < res->channel_cnt; c++) {
                        ctl_row(rows);
                        ctl_set_str(rows, RV_CUR, src.field[i] + 8);
                        ctl_set_str(rows, RV_CHANNEL, res->channels[c].name);
                        ctl_set_int(rows, RV_REVENUE, parts[c]);
                }
        }
        free(parts);
        ctl_hash_free(&src);
        return rc;
}

int ctl_markov_run(ctl_ctx *ctx)
{
        ctl_hash h;
        fd_markov_result res = {0};
        fd_markov_edge *edges = NULL;
        size_t n = 0;
        int64_t journeys, conversions;
        int rc;

        if ((rc = ctl_check_tenant(ctx)) != CTL_EXIT_OK)
                return rc;
        if (ctl_read_period_hash(ctx, "markov", &h))
                return CTL_EXIT_RUNTIME;
        edges = edges_of(&h, &n, &journeys, &conversions);
        if (!edges) {
                snprintf(ctx->errstr, sizeof(ctx->errstr), "out of memory");
                rc = CTL_EXIT_RUNTIME;
                goto done;
        }
        if (fd_markov_compute(edges, n, &res, ctx->errstr,
                              sizeof(ctx->errstr)) != FD_MARKOV_OK) {
                rc = CTL_EXIT_RUNTIME;
                goto done;
        }
        ctl_table *chain =
                ctl_doc_table(ctx->doc, "markov", markov_cols, MK__CNT);
        ctl_table *sum =
                ctl_doc_table(ctx->doc, "summary", summary_cols, SU__CNT);
        ctl_table *rev =
                ctl_doc_table(ctx->doc, "revenue", revenue_cols, RV__CNT);
        for (size_t i = 0; i < res.channel_cnt; i++) {
                ctl_row(chain);
                ctl_set_str(chain, MK_CHANNEL, res.channels[i].name);
                ctl_set_real(chain, MK_RE, res.channels[i].removal_effect, 4);
                ctl_set_real(chain, MK_SHARE, res.channels[i].share, 4);
                ctl_set_real(chain, MK_P_WITHOUT, res.channels[i].p_without, 4);
        }
        ctl_row(sum);
        ctl_set_str(sum, SU_PERIOD, ctx->opt.month ? ctx->opt.month : "all");
        ctl_set_int(sum, SU_JOURNEYS, journeys);
        ctl_set_int(sum, SU_CONVERSIONS, conversions);
        ctl_set_real(sum, SU_P, res.p_conversion, 4);
        rc = add_revenue(ctx, &res, rev);
        if (!journeys)
                ctl_doc_note(ctx->doc,
                             "no closed journey recorded for tenant %s%s%s",
                             ctx->opt.tenant, ctx->opt.month ? " in " : "",
                             ctx->opt.month ? ctx->opt.month : "");
        ctl_doc_note(ctx->doc,
                     "a journey is the channels of a lead's touches in the "
                     "lookback window, counted when it closes: won -> "
                     "conversion, lost -> null; removal effect = 1 - "
                     "P(conversion without the channel) / P(conversion), "
                     "solved exactly; share = removal effect / sum");
        ctl_doc_note(ctx->doc,
                     "revenue: the period's won revenue per currency split "
                     "by share (minor units, largest remainder)");
done:
        fd_markov_result_free(&res);
        free(edges);
        ctl_hash_free(&h);
        return rc;
}
