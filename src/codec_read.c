/* funneld — reading an Avro body into fd_event: in one pass straight from
 * the bytes, or through avro-c's generic value (with reader defaults), and
 * validating the result. */
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "codec_internal.h"
#include "slab.h"
#include "funneld/timebucket.h"
#include "funneld/stage.h"

/* A value as seen through unions: kind of content plus the content. */
typedef struct leaf {
        int is_null;
        avro_value_t v;
} leaf;

static int unwrap(avro_value_t *in, leaf *out)
{
        out->is_null = 0;
        out->v = *in;
        if (avro_value_get_type(in) == AVRO_UNION &&
            avro_value_get_current_branch(in, &out->v) != 0)
                return -1;
        if (avro_value_get_type(&out->v) == AVRO_NULL)
                out->is_null = 1;
        return 0;
}

/* Where the strings of an event go: the heap (one allocation each), or,
 * for the one-pass reader, one block the event owns (fd_event.arena). */
typedef struct dalloc {
        char *p;     /* next free byte of the block; NULL: the heap */
        size_t left; /* bytes left in the block */
} dalloc;

/* n zeroed bytes aligned for any fd_event member, or NULL. */
static void *d_alloc(dalloc *a, size_t n)
{
        size_t pad;
        void *out;

        if (!a->p)
                return calloc(1, n ? n : 1);
        pad = (size_t)(-(uintptr_t)a->p & (sizeof(void *) - 1));
        if (pad + n > a->left)
                return NULL;
        out = a->p + pad;
        memset(out, 0, n);
        a->p += pad + n;
        a->left -= pad + n;
        return out;
}

static char *d_strndup(dalloc *a, const char *s, size_t n)
{
        char *dst;

        if (!a->p)
                dst = malloc(n + 1);
        else if (n + 1 > a->left)
                dst = NULL;
        else {
                dst = a->p;
                a->p += n + 1;
                a->left -= n + 1;
        }
        if (!dst)
                return NULL;
        if (n)
                memcpy(dst, s, n);
        dst[n] = '\0';
        return dst;
}

/* Copies a string/bytes leaf into *dst (heap, owned by the event). "" stays
 * "" for required fields and becomes NULL for optional ones. Returns 0, or
 * 1 when the bytes contain NUL, or -1 on an avro/memory error. */
static int copy_str(leaf *l, int optional, char **dst)
{
        dalloc heap = {NULL, 0};
        const char *s = NULL;
        size_t n = 0;

        *dst = NULL;
        if (l->is_null)
                return 0;
        if (avro_value_get_type(&l->v) == AVRO_STRING) {
                if (avro_value_get_string(&l->v, &s, &n) != 0)
                        return -1;
                n = n ? n - 1 : 0; /* size counts the NUL terminator */
        } else {
                const void *b = NULL;

                if (avro_value_get_bytes(&l->v, &b, &n) != 0)
                        return -1;
                s = b;
        }
        if (n && memchr(s, '\0', n))
                return 1;
        if (optional && n == 0)
                return 0;
        *dst = d_strndup(&heap, s, n);
        return *dst ? 0 : -1;
}

static int get_long(leaf *l, int64_t *out)
{
        int32_t i;

        if (avro_value_get_type(&l->v) == AVRO_INT64)
                return avro_value_get_long(&l->v, out);
        if (avro_value_get_int(&l->v, &i) != 0)
                return -1;
        *out = i;
        return 0;
}

/* Fills *attrs (owned by the event) from a map leaf. */
static int copy_map(leaf *l, fd_attr **attrs, size_t *cnt)
{
        size_t i, n = 0;

        if (l->is_null)
                return 0;
        if (avro_value_get_size(&l->v, &n) != 0)
                return -1;
        if (n == 0)
                return 0;
        *attrs = calloc(n, sizeof(fd_attr));
        if (!*attrs)
                return -1;
        for (i = 0; i < n; i++) {
                avro_value_t ev;
                const char *key = NULL;
                leaf el;
                int rc;

                if (avro_value_get_by_index(&l->v, i, &ev, &key) != 0 || !key ||
                    unwrap(&ev, &el) != 0)
                        return -1;
                (*attrs)[i].key = strdup(key);
                (*cnt)++;
                if (!(*attrs)[i].key)
                        return -1;
                rc = copy_str(&el, 0, &(*attrs)[i].value);
                if (rc != 0)
                        return rc;
                if (!(*attrs)[i].value && !((*attrs)[i].value = strdup("")))
                        return -1;
        }
        return 0;
}

/* Copies a reader default into the field slot. */
static int apply_default(const fd__field *f, const fd__dflt *d, char *rec,
                         dalloc *a)
{
        size_t i, n;

        switch (f->type) {
        case FD__F_STR:
        case FD__F_OPT_STR:
                if (d->is_null || (f->type == FD__F_OPT_STR && !d->str[0]))
                        return 0;
                n = strlen(d->str);
                fd__keep_len(f, rec, n);
                *(char **)(rec + f->off) = d_strndup(a, d->str, n);
                return *(char **)(rec + f->off) ? 0 : -1;
        case FD__F_TIME:
        case FD__F_OPT_LONG:
                if (d->is_null)
                        return 0;
                *(int64_t *)(rec + f->off) = d->num;
                if (f->type == FD__F_OPT_LONG)
                        *(int *)(rec + f->off_cnt) = 1;
                return 0;
        case FD__F_ATTRS:
                if (d->attr_cnt == 0)
                        return 0;
                *(fd_attr **)(rec + f->off) =
                        d_alloc(a, d->attr_cnt * sizeof(fd_attr));
                if (!*(fd_attr **)(rec + f->off))
                        return -1;
                for (i = 0; i < d->attr_cnt; i++) {
                        fd_attr *at = *(fd_attr **)(rec + f->off) + i;

                        at->key = d_strndup(a, d->attrs[i].key,
                                            strlen(d->attrs[i].key));
                        at->value = d_strndup(a, d->attrs[i].value,
                                              strlen(d->attrs[i].value));
                        (*(size_t *)(rec + f->off_cnt))++;
                        if (!at->key || !at->value)
                                return -1;
                }
                return 0;
        }
        return -1;
}

/* Copies writer value wv into the field slot; returns 0, 1 for a NUL byte in
 * a string, 2 for null in a field that cannot be null, -1 on error. */
static int copy_field(const fd__field *f, avro_value_t *wv, char *rec)
{
        leaf l;

        if (unwrap(wv, &l) != 0)
                return -1;
        switch (f->type) {
        case FD__F_STR:
        case FD__F_OPT_STR: {
                char **dst = (char **)(rec + f->off);
                int rc = copy_str(&l, f->type == FD__F_OPT_STR, dst);
                if (rc == 0 && *dst)
                        fd__keep_len(f, rec, strlen(*dst));
                return rc;
        }
        case FD__F_TIME:
                if (l.is_null)
                        return 2;
                return get_long(&l, (int64_t *)(rec + f->off));
        case FD__F_OPT_LONG:
                if (l.is_null)
                        return 0;
                *(int *)(rec + f->off_cnt) = 1;
                return get_long(&l, (int64_t *)(rec + f->off));
        case FD__F_ATTRS:
                return copy_map(&l, (fd_attr **)(rec + f->off),
                                (size_t *)(rec + f->off_cnt));
        }
        return -1;
}

/* ---- the one-pass reader: values straight from the body ----
 *
 * Each writer field is checked by fd__check_body()'s rules and copied into
 * the reader field it feeds in the same step, following copy_field()'s
 * rules. A body either pass would refuse (and the rare shapes) is left to
 * them, so that reasons and messages come from one place. */

typedef struct scan {
        const uint8_t *p, *end;
        size_t items; /* array/map item budget, as fd__check_body()'s */
        dalloc a;     /* the event's block */
} scan;

/* A zigzag varint at the scan (fd__varint). */
static inline int scan_varint(scan *s, int64_t *out)
{
        return fd__varint(&s->p, s->end, out);
}

/* The branch of union t at s->p (reading its index), or t itself; NULL
 * when the index is out of range. */
static inline const fd__node *scan_branch(scan *s, const fd__node *t)
{
        int64_t v;

        if (t->type != AVRO_UNION)
                return t;
        if (scan_varint(s, &v) != 0 || v < 0 || (uint64_t)v >= t->n)
                return NULL;
        return t->kid[v];
}

/* A string or bytes value (type t) without a NUL byte: its bytes, *n long;
 * NULL when malformed, of another type, or with a NUL. */
static inline const char *scan_bytes(scan *s, avro_type_t t, size_t *n)
{
        int64_t len;
        const char *str;

        if ((t != AVRO_STRING && t != AVRO_BYTES) ||
            scan_varint(s, &len) != 0 || len < 0 || len > s->end - s->p)
                return NULL;
        str = (const char *)s->p;
        s->p += len;
        *n = (size_t)len;
        return memchr(str, '\0', *n) ? NULL : str;
}

/* n bytes at str, and a NUL, copied into the event's block (which has
 * room for every string of the body). */
static inline char *scan_copy(scan *s, const char *str, size_t n)
{
        char *dst = s->a.p;

        if (n + 1 > s->a.left)
                return NULL;
        fd_copy(dst, str, n);
        dst[n] = '\0';
        s->a.p += n + 1;
        s->a.left -= n + 1;
        return dst;
}

/* The map of values vt at s->p into *attrs / *cnt, with avro-c's rule for
 * a repeated key (first position, last value). 0, or -1: leave it. */
static int scan_map(scan *s, const fd__node *vt, fd_attr **attrs, size_t *cnt)
{
        fd_attr got[FD__DIRECT_MAX_ATTRS];
        size_t klen[FD__DIRECT_MAX_ATTRS], n = 0, i;
        int64_t left, size;

        for (;;) {
                if (scan_varint(s, &left) != 0)
                        return -1;
                if (left == 0)
                        break;
                if (left < 0) {
                        if (left == INT64_MIN || scan_varint(s, &size) != 0 ||
                            size < 0 || size > s->end - s->p)
                                return -1;
                        left = -left;
                }
                if ((uint64_t)left > s->items)
                        return -1;
                s->items -= (size_t)left;
                for (; left > 0; left--) {
                        const fd__node *b;
                        const char *k, *v = "";
                        size_t kn, vn = 0;
                        char *val;

                        if (!(k = scan_bytes(s, AVRO_STRING, &kn)) ||
                            !(b = scan_branch(s, vt)) ||
                            (b->type != AVRO_NULL &&
                             !(v = scan_bytes(s, b->type, &vn))) ||
                            !(val = scan_copy(s, v, vn)))
                                return -1;
                        for (i = 0; i < n; i++)
                                if (klen[i] == kn &&
                                    memcmp(got[i].key, k, kn) == 0)
                                        break;
                        if (i < n) {
                                got[i].value = val;
                                continue;
                        }
                        if (n == FD__DIRECT_MAX_ATTRS ||
                            !(got[n].key = scan_copy(s, k, kn)))
                                return -1;
                        klen[n] = kn;
                        got[n++].value = val;
                }
        }
        if (n) {
                if (!(*attrs = d_alloc(&s->a, n * sizeof(**attrs))))
                        return -1;
                memcpy(*attrs, got, n * sizeof(**attrs));
                *cnt = n;
        }
        return 0;
}

/* Writer field type t at s->p into reader field f of rec. 0, or -1: leave
 * the body to the two passes. */
static int scan_field(scan *s, const fd__field *f, const fd__node *t, char *rec)
{
        const fd__node *b = scan_branch(s, t);
        const char *str;
        int64_t v;
        size_t n;

        if (!b)
                return -1;
        switch (f->type) {
        case FD__F_STR:
        case FD__F_OPT_STR:
                if (b->type == AVRO_NULL)
                        return 0;
                if (!(str = scan_bytes(s, b->type, &n)))
                        return -1;
                if (n == 0 && f->type == FD__F_OPT_STR)
                        return 0;
                fd__keep_len(f, rec, n);
                return (*(char **)(rec + f->off) = scan_copy(s, str, n)) ? 0
                                                                         : -1;
        case FD__F_TIME:
        case FD__F_OPT_LONG:
                if (b->type == AVRO_NULL) /* a null time is refused */
                        return f->type == FD__F_TIME ? -1 : 0;
                if ((b->type != AVRO_INT64 && b->type != AVRO_INT32) ||
                    scan_varint(s, &v) != 0 ||
                    (b->type == AVRO_INT32 && (v < INT32_MIN || v > INT32_MAX)))
                        return -1;
                *(int64_t *)(rec + f->off) = v;
                if (f->type == FD__F_OPT_LONG)
                        *(int *)(rec + f->off_cnt) = 1;
                return 0;
        case FD__F_ATTRS:
                if (b->type == AVRO_NULL)
                        return 0;
                if (b->type != AVRO_MAP)
                        return -1;
                return scan_map(s, b->kid[0], (fd_attr **)(rec + f->off),
                                (size_t *)(rec + f->off_cnt));
        }
        return -1;
}

void fd__scan_plan(fd__writer *w, const fd__reader *rd)
{
        size_t i;

        memset(w->rfield, -1, sizeof(w->rfield));
        /* every default, an attribute array per map field, and the
         * alignment of the block's start */
        w->scan_room = w->dflt_bytes + sizeof(void *);
        for (i = 0; i < rd->field_cnt; i++) {
                if (w->fmap[i] >= 0 && w->fmap[i] < FD__MAX_WRITER_FIELDS)
                        w->rfield[w->fmap[i]] = (int8_t)i;
                if (rd->fields[i].type == FD__F_ATTRS)
                        w->scan_room += FD__DIRECT_MAX_ATTRS * sizeof(fd_attr) +
                                        sizeof(void *);
        }
}

int fd__scan_event(const fd_codec *codec, const fd__writer *w,
                   const uint8_t *body, size_t len, fd_slab *slab,
                   fd_event *out)
{
        const fd__reader *rd = &codec->rd[w->kind];
        const fd__node *root = w->plan.root;
        char *rec = (char *)&out->u;
        /* Every string of the body takes at most the bytes it had (each
         * has a length byte for its NUL). */
        size_t cap = len + w->scan_room, i;
        scan s = {body, body + len, len + 4096, {NULL, cap}};
        int nul;

        out->kind = w->kind;
        if (w->wfield_cnt > FD__MAX_WRITER_FIELDS || root->type != AVRO_RECORD)
                return -1;
        s.a.p = out->arena = slab ? fd_slab_alloc(slab, cap, &out->arena_owner)
                                  : malloc(cap);
        if (!s.a.p)
                return -1;
        for (i = 0; i < root->n; i++) {
                int r = w->rfield[i];
                long took;

                if (r >= 0) {
                        if (scan_field(&s, &rd->fields[r], root->kid[i], rec) !=
                            0)
                                return -1;
                        continue;
                }
                took = fd__check_one(root->kid[i], s.p, (size_t)(s.end - s.p),
                                     &s.items, &nul);
                if (took < 0 || nul)
                        return -1;
                s.p += took;
        }
        if (s.p != s.end)
                return -1;
        /* dflt_bytes: 0 when the writer has every reader field */
        for (i = 0; w->dflt_bytes && i < rd->field_cnt; i++)
                if (w->fmap[i] < 0 &&
                    apply_default(&rd->fields[i], &rd->dflt[i], rec, &s.a) != 0)
                        return -1;
        if (slab)
                fd_slab_shrink(out->arena_owner, out->arena, cap,
                               cap - s.a.left);
        return 0;
}

/* Reads body into w->value with avro-c. */
static int avro_read_body(fd__writer *w, const uint8_t *body, size_t len,
                          char *errstr, size_t errstr_size)
{
        avro_reader_memory_set_source(w->reader, (const char *)body,
                                      (int64_t)len);
        avro_value_reset(&w->value);
        if (avro_value_read(w->reader, &w->value) == 0)
                return 0;
        snprintf(errstr, errstr_size,
                 "value is not valid Avro for the writer schema (%s); "
                 "check that the producer uses the registered schema",
                 avro_strerror());
        return -1;
}

fd_decode_err fd__read_event(fd_codec *codec, fd__writer *w,
                             const uint8_t *body, size_t len, fd_event *out,
                             char *errstr, size_t errstr_size)
{
        const fd__reader *rd = &codec->rd[w->kind];
        char *rec = (char *)&out->u;
        dalloc heap = {NULL, 0};
        size_t i;

        out->kind = w->kind;
        if (avro_read_body(w, body, len, errstr, errstr_size) != 0)
                return FD_DECODE_UNDECODABLE;
        for (i = 0; i < rd->field_cnt; i++) {
                const fd__field *f = &rd->fields[i];
                avro_value_t wv;
                int rc;

                if (w->fmap[i] < 0) {
                        rc = apply_default(f, &rd->dflt[i], rec, &heap);
                } else {
                        rc = avro_value_get_by_index(
                                &w->value, (size_t)w->fmap[i], &wv, NULL);
                        if (rc == 0)
                                rc = copy_field(f, &wv, rec);
                }
                if (rc == 1) {
                        snprintf(errstr, errstr_size,
                                 "field '%s' contains a NUL byte; remove NUL "
                                 "characters from the producer's strings",
                                 f->name);
                        return FD_DECODE_INVALID_FIELD;
                }
                if (rc == 2) {
                        snprintf(errstr, errstr_size,
                                 "field '%s' is null; the producer must set "
                                 "it",
                                 f->name);
                        return FD_DECODE_MISSING_FIELD;
                }
                if (rc != 0) {
                        snprintf(errstr, errstr_size,
                                 "cannot copy field '%s' (%s); check memory",
                                 f->name, avro_strerror());
                        return FD_DECODE_UNDECODABLE;
                }
        }
        return FD_DECODE_OK;
}

/* Copies at most 40 printable characters of s into dst for messages. */
static const char *printable(const char *s, char *dst, size_t size)
{
        size_t i;

        for (i = 0; s[i] && i + 1 < size && i < 40; i++)
                dst[i] = isprint((unsigned char)s[i]) ? s[i] : '?';
        dst[i] = '\0';
        return dst;
}

static void format_time(int64_t ms, char *dst, size_t size)
{
        time_t t = (time_t)(ms / 1000 - (ms % 1000 < 0));
        struct tm tm;

        if (ms < -62135596800000LL || ms > 253402300799999LL ||
            !gmtime_r(&t, &tm) ||
            !strftime(dst, size, "%Y-%m-%dT%H:%M:%SZ", &tm))
                snprintf(dst, size, "out of calendar range");
}

static fd_decode_err check_time(int64_t at, const fd_decode_limits *limits,
                                char *errstr, size_t errstr_size)
{
        char when[64], lo[64], hi[64];

        if (!limits ||
            (limits->min_event_time_ms == 0 &&
             limits->max_event_time_ms == 0) ||
            (at >= limits->min_event_time_ms &&
             at <= limits->max_event_time_ms))
                return FD_DECODE_OK;
        format_time(at, when, sizeof(when));
        format_time(limits->min_event_time_ms, lo, sizeof(lo));
        format_time(limits->max_event_time_ms, hi, sizeof(hi));
        snprintf(errstr, errstr_size,
                 "field 'occurred_at' is %" PRId64
                 " (%s), outside the accepted "
                 "range %s .. %s; the producer must write event time in "
                 "milliseconds since the epoch (UTC)",
                 at, when, lo, hi);
        return FD_DECODE_INVALID_FIELD;
}

static fd_decode_err need(const char *value, const char *name, const char *why,
                          char *errstr, size_t errstr_size)
{
        if (value && value[0])
                return FD_DECODE_OK;
        snprintf(errstr, errstr_size, "field '%s' is empty or missing; %s",
                 name, why);
        return FD_DECODE_MISSING_FIELD;
}

static fd_decode_err validate_lead(const fd_lead_event *le,
                                   const fd_decode_limits *limits, char *errstr,
                                   size_t errstr_size)
{
        fd_decode_err err;

        if ((err = need(le->event_id, "event_id",
                        "every event needs a unique event_id", errstr,
                        errstr_size)) ||
            (err = need(le->tenant_id, "tenant_id",
                        "every event needs the tenant it belongs to", errstr,
                        errstr_size)) ||
            (err = need(le->type, "type",
                        "set the activity type, e.g. page_view or "
                        "form_submit",
                        errstr, errstr_size)))
                return err;
        if (!le->lead_id && !le->anonymous_id) {
                snprintf(errstr, errstr_size,
                         "LeadEvent has neither 'lead_id' nor "
                         "'anonymous_id'; set at least one of them");
                return FD_DECODE_MISSING_FIELD;
        }
        return check_time(le->occurred_at, limits, errstr, errstr_size);
}

static fd_decode_err validate_crm(fd_crm_event *ce,
                                  const fd_decode_limits *limits, char *errstr,
                                  size_t errstr_size)
{
        char shown[48];
        fd_decode_err err;
        fd_stage stage;

        if ((err = need(ce->event_id, "event_id",
                        "every event needs a unique event_id", errstr,
                        errstr_size)) ||
            (err = need(ce->tenant_id, "tenant_id",
                        "every event needs the tenant it belongs to", errstr,
                        errstr_size)) ||
            (err = need(ce->lead_id, "lead_id",
                        "a CrmStageEvent must name the lead", errstr,
                        errstr_size)) ||
            (err = need(ce->stage, "stage",
                        "use one of lead, mql, sql, opportunity, closed_won, "
                        "closed_lost, recycled",
                        errstr, errstr_size)))
                return err;
        stage = fd_stage_parse(ce->stage);
        if (stage != FD_STAGE_NONE) {
                /* Canonical lower-case name, e.g. "Closed_Won" -> "closed_won".
                 */
                const char *name = fd_stage_name(stage);

                if (name && strlen(name) == strlen(ce->stage))
                        memcpy(ce->stage, name, strlen(name));
        } else if (!fd_stage_is_recycle(ce->stage)) {
                snprintf(errstr, errstr_size,
                         "field 'stage' has unknown value '%s'; use one of "
                         "lead, mql, sql, opportunity, closed_won, "
                         "closed_lost, recycled",
                         printable(ce->stage, shown, sizeof(shown)));
                return FD_DECODE_INVALID_FIELD;
        }
        if (ce->has_amount && ce->amount_minor < 0) {
                snprintf(errstr, errstr_size,
                         "field 'amount_minor' is %" PRId64 "; amounts are "
                         "integer minor units and must be >= 0",
                         ce->amount_minor);
                return FD_DECODE_INVALID_FIELD;
        }
        return check_time(ce->occurred_at, limits, errstr, errstr_size);
}

static fd_decode_err validate_spend(fd_spend_event *se,
                                    const fd_decode_limits *limits,
                                    char *errstr, size_t errstr_size)
{
        char shown[48];
        fd_decode_err err;
        int64_t day;

        if ((err = need(se->event_id, "event_id",
                        "every event needs a unique event_id", errstr,
                        errstr_size)) ||
            (err = need(se->tenant_id, "tenant_id",
                        "every event needs the tenant it belongs to", errstr,
                        errstr_size)) ||
            (err = need(se->channel, "channel",
                        "name the channel the money was spent on", errstr,
                        errstr_size)) ||
            (err = need(se->day, "day",
                        "give the day it was spent as YYYY-MM-DD", errstr,
                        errstr_size)) ||
            (err = need(se->currency, "currency",
                        "give the ISO 4217 code of the amount, e.g. USD",
                        errstr, errstr_size)))
                return err;
        if (!se->has_amount) {
                snprintf(errstr, errstr_size,
                         "SpendEvent field 'amount_minor' is null; give the "
                         "amount in integer minor units");
                return FD_DECODE_MISSING_FIELD;
        }
        if (fd_day_parse(se->day, &day, NULL, NULL) < 0) {
                snprintf(errstr, errstr_size,
                         "field 'day' is '%s', not a date; write it as "
                         "YYYY-MM-DD",
                         printable(se->day, shown, sizeof(shown)));
                return FD_DECODE_INVALID_FIELD;
        }
        if (strlen(se->currency) != 3 ||
            !isupper((unsigned char)se->currency[0]) ||
            !isupper((unsigned char)se->currency[1]) ||
            !isupper((unsigned char)se->currency[2])) {
                snprintf(errstr, errstr_size,
                         "field 'currency' is '%s'; use an ISO 4217 code of "
                         "three capital letters, e.g. USD",
                         printable(se->currency, shown, sizeof(shown)));
                return FD_DECODE_INVALID_FIELD;
        }
        return check_time(se->occurred_at, limits, errstr, errstr_size);
}

fd_decode_err fd__validate_event(fd_event *ev, const fd_decode_limits *limits,
                                 char *errstr, size_t errstr_size)
{
        if (ev->kind == FD_EV_LEAD)
                return validate_lead(&ev->u.lead, limits, errstr, errstr_size);
        if (ev->kind == FD_EV_SPEND)
                return validate_spend(&ev->u.spend, limits, errstr,
                                      errstr_size);
        return validate_crm(&ev->u.crm, limits, errstr, errstr_size);
}
