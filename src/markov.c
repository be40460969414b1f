/* funneld — Markov-chain attribution with removal effect (see markov.h).
 *
 * State index 0 is (start), 1..k the channels in name order; (conversion)
 * and (null) are not stored as states: a transient state i has cnt[i][j]
 * counts to transient j, conv[i] to (conversion) and out[i] in total
 * (including (null)). Q = cnt / out, r = conv / out, and x = (I - Q)^-1 r
 * is the conversion probability from every state.
 *
 * Removal without one solve per channel: let N = (I - Q)^-1 (expected
 * visits). Redirecting the transitions into c to (null) keeps exactly the
 * converting paths that never visit c, so by the strong Markov property at
 * the first visit to c
 *   P = P_without_c + h_c * x_c,   h_c = P(reach c from start)
 * and h_c = N[start][c] / N[c][c] (visits to c = first hit, then N[c][c]
 * expected visits). One LU factorisation of I - Q and one solve with the
 * unit vector e_c per channel give N[start][c] and N[c][c]: O(k^3) total.
 *
 * Only states reachable from (start) enter the system, so garbage that
 * forms a closed loop elsewhere cannot make it singular. A reachable state
 * that can reach neither (conversion) nor (null) makes I - Q singular and
 * is reported; a state with no outgoing count is a dead end into (null). */
#include "funneld/markov.h"

#include "funneld/attribution.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct span {
        const char *p;
        size_t len;
} span;

typedef struct chain {
        size_t k, m;   /* channels; states m = k + 1 */
        span *names;   /* k channel names, sorted, unique */
        double *cnt;   /* m * m: transient -> transient counts */
        double *conv;  /* m: counts into (conversion) */
        double *nul;   /* m: counts into (null) */
        double *out;   /* m: all outgoing counts */
        char *reach;   /* m: reachable from (start) */
        char *exits;   /* m: can reach (conversion) or (null) */
        size_t *idx;   /* m: row in the system, or SIZE_MAX */
        size_t t;      /* states in the system */
        double *a;     /* t * t: LU of I - Q */
        size_t *perm;  /* t: row permutation of the LU */
        double *x;     /* t: conversion probability */
        double *z;     /* t: scratch solve */
        size_t *queue; /* m: scratch */
} chain;

enum { NAME_START, NAME_CONVERSION, NAME_NULL, NAME_CHANNEL, NAME_BAD };

static int span_is(const char *p, size_t len, const char *lit)
{
        return strlen(lit) == len && memcmp(p, lit, len) == 0;
}

int fd_markov_channel_valid(const char *name, size_t len)
{
        if (!name || len == 0 || memchr(name, '|', len) ||
            memchr(name, '\0', len))
                return 0;
        return !span_is(name, len, FD_MARKOV_START) &&
               !span_is(name, len, FD_MARKOV_CONVERSION) &&
               !span_is(name, len, FD_MARKOV_NULL);
}

static int classify(const char *p, size_t len)
{
        if (!p)
                return NAME_BAD;
        if (span_is(p, len, FD_MARKOV_START))
                return NAME_START;
        if (span_is(p, len, FD_MARKOV_CONVERSION))
                return NAME_CONVERSION;
        if (span_is(p, len, FD_MARKOV_NULL))
                return NAME_NULL;
        return fd_markov_channel_valid(p, len) ? NAME_CHANNEL : NAME_BAD;
}

/* 1 when the edge's sides are a transition a journey can produce. */
static int edge_shape_ok(const fd_markov_edge *e)
{
        int from = classify(e->from, e->from_len);
        int to = classify(e->to, e->to_len);

        if (from == NAME_START)
                return to == NAME_CHANNEL;
        return from == NAME_CHANNEL && to != NAME_START && to != NAME_BAD;
}

size_t fd_markov_journey(const char *const *channels, size_t n, int converted,
                         fd_markov_step *steps, size_t cap)
{
        size_t i;

        if (n == 0 || !channels)
                return 0;
        for (i = 0; i < n; i++)
                if (!channels[i] ||
                    !fd_markov_channel_valid(channels[i], strlen(channels[i])))
                        return 0;
        for (i = 0; i <= n && i < cap; i++) {
                steps[i].from = i == 0 ? FD_MARKOV_START : channels[i - 1];
                if (i < n)
                        steps[i].to = channels[i];
                else
                        steps[i].to = converted ? FD_MARKOV_CONVERSION
                                                : FD_MARKOV_NULL;
        }
        return n + 1;
}

int fd_markov_field_parse(const char *field, size_t len, fd_markov_edge *edge)
{
        const char *bar;
        fd_markov_edge e;

        if (!field || !(bar = memchr(field, '|', len)))
                return -1;
        e.from = field;
        e.from_len = (size_t)(bar - field);
        e.to = bar + 1;
        e.to_len = len - e.from_len - 1;
        e.count = 0;
        if (!edge_shape_ok(&e)) /* also rejects a second '|' */
                return -1;
        edge->from = e.from;
        edge->from_len = e.from_len;
        edge->to = e.to;
        edge->to_len = e.to_len;
        return 0;
}

static int span_cmp(const void *va, const void *vb)
{
        const span *a = va, *b = vb;
        size_t n = a->len < b->len ? a->len : b->len;
        int c = memcmp(a->p, b->p, n);

        if (c != 0)
                return c;
        return (a->len > b->len) - (a->len < b->len);
}

/* State index of a (valid) from/to span: 0 for (start), 1 + name index. */
static size_t state_of(const chain *ch, const char *p, size_t len)
{
        span key = {p, len};
        const span *hit;

        if (span_is(p, len, FD_MARKOV_START))
                return 0;
        hit = bsearch(&key, ch->names, ch->k, sizeof(span), span_cmp);
        return hit ? 1 + (size_t)(hit - ch->names) : 0;
}

/* Collects the sorted unique channel names of the usable edges. */
static int collect_names(chain *ch, const fd_markov_edge *edges, size_t n)
{
        size_t i, k = 0, u = 0;

        ch->names = malloc((2 * n + 1) * sizeof(span));
        if (!ch->names)
                return FD_MARKOV_ENOMEM;
        for (i = 0; i < n; i++) {
                const fd_markov_edge *e = &edges[i];
                if (e->count <= 0 || !edge_shape_ok(e))
                        continue;
                if (classify(e->from, e->from_len) == NAME_CHANNEL)
                        ch->names[k++] = (span){e->from, e->from_len};
                if (classify(e->to, e->to_len) == NAME_CHANNEL)
                        ch->names[k++] = (span){e->to, e->to_len};
        }
        qsort(ch->names, k, sizeof(span), span_cmp);
        for (i = 0; i < k; i++)
                if (u == 0 || span_cmp(&ch->names[u - 1], &ch->names[i]) != 0)
                        ch->names[u++] = ch->names[i];
        ch->k = u;
        ch->m = u + 1;
        return FD_MARKOV_OK;
}

static int alloc_chain(chain *ch)
{
        size_t m = ch->m;

        if (m > SIZE_MAX / sizeof(double) / m)
                return FD_MARKOV_ENOMEM;
        ch->cnt = calloc(m * m, sizeof(double));
        ch->a = malloc(m * m * sizeof(double));
        ch->conv = calloc(m, sizeof(double));
        ch->nul = calloc(m, sizeof(double));
        ch->out = calloc(m, sizeof(double));
        ch->x = calloc(m, sizeof(double));
        ch->z = calloc(m, sizeof(double));
        ch->reach = calloc(m, 1);
        ch->exits = calloc(m, 1);
        ch->idx = calloc(m, sizeof(size_t));
        ch->perm = calloc(m, sizeof(size_t));
        ch->queue = calloc(m, sizeof(size_t));
        if (!ch->cnt || !ch->a || !ch->conv || !ch->nul || !ch->out || !ch->x ||
            !ch->z || !ch->reach || !ch->exits || !ch->idx || !ch->perm ||
            !ch->queue)
                return FD_MARKOV_ENOMEM;
        return FD_MARKOV_OK;
}

static void free_chain(chain *ch)
{
        free(ch->names);
        free(ch->cnt);
        free(ch->a);
        free(ch->conv);
        free(ch->nul);
        free(ch->out);
        free(ch->x);
        free(ch->z);
        free(ch->reach);
        free(ch->exits);
        free(ch->idx);
        free(ch->perm);
        free(ch->queue);
}

/* Adds the usable edges' counts; returns how many were used. */
static size_t add_counts(chain *ch, const fd_markov_edge *edges, size_t n)
{
        size_t i, used = 0, from;
        double c;

        for (i = 0; i < n; i++) {
                const fd_markov_edge *e = &edges[i];
                if (e->count <= 0 || !edge_shape_ok(e))
                        continue;
                used++;
                c = (double)e->count;
                from = state_of(ch, e->from, e->from_len);
                ch->out[from] += c;
                switch (classify(e->to, e->to_len)) {
                case NAME_CONVERSION:
                        ch->conv[from] += c;
                        break;
                case NAME_NULL:
                        ch->nul[from] += c;
                        break;
                default:
                        ch->cnt[from * ch->m +
                                state_of(ch, e->to, e->to_len)] += c;
                }
        }
        return used;
}

/* Marks the states reachable from (start) and numbers them for the system;
 * returns a reachable state that cannot get out of the transient states,
 * or SIZE_MAX when every one can. */
static size_t mark_states(chain *ch)
{
        size_t m = ch->m, head = 0, tail = 0, i, j;
        char *exits = ch->exits;

        ch->reach[0] = 1;
        ch->queue[tail++] = 0;
        while (head < tail) {
                i = ch->queue[head++];
                for (j = 0; j < m; j++)
                        if (ch->cnt[i * m + j] > 0 && !ch->reach[j]) {
                                ch->reach[j] = 1;
                                ch->queue[tail++] = j;
                        }
        }
        /* Backwards from the states with a way out (dead ends go to null). */
        head = tail = 0;
        for (i = 0; i < m; i++)
                if (ch->conv[i] > 0 || ch->nul[i] > 0 || ch->out[i] <= 0) {
                        exits[i] = 1;
                        ch->queue[tail++] = i;
                }
        while (head < tail) {
                j = ch->queue[head++];
                for (i = 0; i < m; i++)
                        if (ch->cnt[i * m + j] > 0 && !exits[i]) {
                                exits[i] = 1;
                                ch->queue[tail++] = i;
                        }
        }
        ch->t = 0;
        for (i = 0; i < m; i++)
                ch->idx[i] = ch->reach[i] ? ch->t++ : SIZE_MAX;
        /* A stuck (start) implies a stuck channel: report the channel. */
        for (i = m; i-- > 0;)
                if (ch->reach[i] && !exits[i])
                        return i;
        return SIZE_MAX;
}

/* Fills a with I - Q over the system states and x with r, then factorises
 * a in place (PA = LU, partial pivoting). Returns 0, or -1 when a pivot is
 * 0 or not finite. */
static int factorise(chain *ch)
{
        size_t t = ch->t, m = ch->m, i, j, r, p;
        double *a = ch->a, best, f, tmp;

        for (i = 0; i < m; i++) {
                if (ch->idx[i] == SIZE_MAX)
                        continue;
                r = ch->idx[i];
                for (j = 0; j < m; j++)
                        if (ch->idx[j] != SIZE_MAX)
                                a[r * t + ch->idx[j]] =
                                        (r == ch->idx[j]) -
                                        (ch->out[i] > 0 ? ch->cnt[i * m + j] /
                                                                  ch->out[i]
                                                        : 0.0);
                ch->x[r] = ch->out[i] > 0 ? ch->conv[i] / ch->out[i] : 0.0;
                ch->perm[r] = r;
        }
        for (i = 0; i < t; i++) {
                p = i;
                best = fabs(a[i * t + i]);
                for (r = i + 1; r < t; r++)
                        if (fabs(a[r * t + i]) > best) {
                                best = fabs(a[r * t + i]);
                                p = r;
                        }
                if (!(best >= DBL_MIN) || !isfinite(best))
                        return -1;
                if (p != i) {
                        for (j = 0; j < t; j++) {
                                tmp = a[i * t + j];
                                a[i * t + j] = a[p * t + j];
                                a[p * t + j] = tmp;
                        }
                        r = ch->perm[i];
                        ch->perm[i] = ch->perm[p];
                        ch->perm[p] = r;
                }
                for (r = i + 1; r < t; r++) {
                        f = a[r * t + i] / a[i * t + i];
                        a[r * t + i] = f;
                        for (j = i + 1; j < t; j++)
                                a[r * t + j] -= f * a[i * t + j];
                }
        }
        return 0;
}

/* Solves (I - Q) v = b with the LU; b (original row order) is copied. */
static void lu_solve(const chain *ch, const double *b, double *v)
{
        size_t t = ch->t, i, j;
        const double *a = ch->a;
        double s;

        for (i = 0; i < t; i++) {
                s = b[ch->perm[i]];
                for (j = 0; j < i; j++)
                        s -= a[i * t + j] * v[j];
                v[i] = s;
        }
        for (i = t; i-- > 0;) {
                s = v[i];
                for (j = i + 1; j < t; j++)
                        s -= a[i * t + j] * v[j];
                v[i] = s / a[i * t + i];
        }
}

/* Fills out's channels from the solved chain; b is t doubles of scratch. */
static void removal_effects(const chain *ch, fd_markov_result *out, double *b)
{
        size_t c, s, t = ch->t;
        double p = out->p_conversion, pw, h, sum = 0.0;
        fd_markov_channel *fc;

        for (c = 0; c < ch->k; c++) {
                fc = &out->channels[c];
                s = ch->idx[c + 1];
                pw = p;
                if (s != SIZE_MAX && p > 0) {
                        memset(b, 0, t * sizeof(double));
                        b[s] = 1.0;
                        lu_solve(ch, b, ch->z);
                        h = ch->z[s] > 0 ? ch->z[0] / ch->z[s] : 0.0;
                        pw = p - h * ch->x[s];
                        pw = pw < 0 ? 0 : pw > p ? p : pw;
                }
                fc->p_without = pw;
                fc->removal_effect = p > 0 ? 1.0 - pw / p : 0.0;
                if (!(fc->removal_effect > 0))
                        fc->removal_effect = 0.0;
                sum += fc->removal_effect;
        }
        for (c = 0; c < ch->k; c++)
                out->channels[c].share =
                        sum > 0 ? out->channels[c].removal_effect / sum : 0.0;
}

static int copy_names(const chain *ch, fd_markov_result *out)
{
        size_t c;

        out->channels = calloc(ch->k ? ch->k : 1, sizeof(fd_markov_channel));
        if (!out->channels)
                return FD_MARKOV_ENOMEM;
        out->channel_cnt = ch->k;
        for (c = 0; c < ch->k; c++) {
                out->channels[c].name = malloc(ch->names[c].len + 1);
                if (!out->channels[c].name)
                        return FD_MARKOV_ENOMEM;
                memcpy(out->channels[c].name, ch->names[c].p, ch->names[c].len);
                out->channels[c].name[ch->names[c].len] = '\0';
        }
        return FD_MARKOV_OK;
}

int fd_markov_compute(const fd_markov_edge *edges, size_t n,
                      fd_markov_result *out, char *errstr, size_t errstr_size)
{
        chain ch;
        double *b = NULL;
        size_t bad;
        int rc;

        memset(&ch, 0, sizeof(ch));
        memset(out, 0, sizeof(*out));
        if (!edges)
                n = 0;
        if ((rc = collect_names(&ch, edges, n)) != 0 ||
            (rc = alloc_chain(&ch)) != 0 || (rc = copy_names(&ch, out)) != 0)
                goto fail;
        out->edges_used = add_counts(&ch, edges, n);
        out->edges_ignored = n - out->edges_used;
        bad = mark_states(&ch);
        if (bad != SIZE_MAX) {
                if (bad == 0) /* cannot happen: see mark_states() */
                        bad = 1;
                if (errstr && errstr_size)
                        snprintf(errstr, errstr_size,
                                 "markov: channel \"%.*s\" is reachable "
                                 "from (start) but its transitions loop "
                                 "without reaching (conversion) or (null); "
                                 "the counts are inconsistent: rebuild them "
                                 "from the journeys",
                                 (int)ch.names[bad - 1].len,
                                 ch.names[bad - 1].p);
                rc = FD_MARKOV_ESINGULAR;
                goto fail;
        }
        if (factorise(&ch) != 0) {
                if (errstr && errstr_size)
                        snprintf(errstr, errstr_size,
                                 "markov: the transition system is numerically "
                                 "singular (%zu states); check the counts for "
                                 "extreme values and rebuild them",
                                 ch.t);
                rc = FD_MARKOV_ESINGULAR;
                goto fail;
        }
        if (!(b = malloc(ch.t * sizeof(double)))) {
                rc = FD_MARKOV_ENOMEM;
                goto fail;
        }
        memcpy(b, ch.x, ch.t * sizeof(double));
        lu_solve(&ch, b, ch.x);
        out->p_conversion = ch.x[0];
        if (!(out->p_conversion > 0))
                out->p_conversion = 0.0;
        if (out->p_conversion > 1)
                out->p_conversion = 1.0;
        removal_effects(&ch, out, b);
        free(b);
        free_chain(&ch);
        return FD_MARKOV_OK;
fail:
        if (rc == FD_MARKOV_ENOMEM && errstr && errstr_size)
                snprintf(errstr, errstr_size,
                         "markov: out of memory for %zu channels; reduce the "
                         "number of distinct channels or free memory",
                         ch.k);
        free(b);
        free_chain(&ch);
        fd_markov_result_free(out);
        return rc;
}

void fd_markov_result_free(fd_markov_result *res)
{
        size_t c;

        if (!res)
                return;
        for (c = 0; c < res->channel_cnt; c++)
                free(res->channels[c].name);
        free(res->channels);
        memset(res, 0, sizeof(*res));
}

int fd_markov_split(const fd_markov_result *res, int64_t amount, int64_t *parts)
{
        size_t c, n = res->channel_cnt;
        double *w;
        int any = 0;

        for (c = 0; c < n; c++) {
                parts[c] = 0;
                any |= res->channels[c].share > 0;
        }
        if (amount <= 0)
                return FD_MARKOV_OK;
        if (!any)
                return FD_MARKOV_ENOCREDIT;
        if (!(w = malloc(n * sizeof(double))))
                return FD_MARKOV_ENOMEM;
        for (c = 0; c < n; c++)
                w[c] = res->channels[c].share;
        fd_largest_remainder(amount, w, n, parts);
        free(w);
        return FD_MARKOV_OK;
}
