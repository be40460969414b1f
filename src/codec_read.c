/* funneld — copying a decoded Avro generic value into fd_event by field
 * name (with reader defaults), and validating the result. */
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
 * for the direct reader, one block the event owns (fd_event.arena). */
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

/* Copies the n bytes at s into *dst (from a). "" stays "" for required
 * fields and becomes NULL for optional ones. Returns 0, 1 when the bytes
 * contain NUL, or -1 out of memory. nul_free: the bytes are an Avro string
 * fd__check_body() accepted, so they have no NUL to look for. */
static int take_str(dalloc *a, const char *s, size_t n, int optional,
                    int nul_free, char **dst)
{
        *dst = NULL;
        if (!nul_free && n && memchr(s, '\0', n))
                return 1;
        if (optional && n == 0)
                return 0;
        *dst = d_strndup(a, s, n);
        return *dst ? 0 : -1;
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
        return take_str(&heap, s, n, optional, 0, dst);
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
        size_t i;

        switch (f->type) {
        case FD__F_STR:
        case FD__F_OPT_STR:
                if (d->is_null || (f->type == FD__F_OPT_STR && !d->str[0]))
                        return 0;
                *(char **)(rec + f->off) = d_strndup(a, d->str, strlen(d->str));
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
        case FD__F_OPT_STR:
                return copy_str(&l, f->type == FD__F_OPT_STR,
                                (char **)(rec + f->off));
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

/* ---- the direct reader: values straight from a checked body ----
 *
 * fd__check_body() has already proved that every length, count and union
 * index of the body is in range, so the reads below need no bounds checks
 * of their own. They follow copy_field()'s rules exactly. */

static int64_t direct_varint(const uint8_t **p)
{
        uint64_t v = 0;
        int shift = 0;
        uint8_t b;

        do {
                b = *(*p)++;
                v |= (uint64_t)(b & 0x7f) << shift;
                shift += 7;
        } while ((b & 0x80) && shift < 70);
        return (int64_t)((v >> 1) ^ (~(v & 1) + 1));
}

/* Resolves a union at *p to its branch (reading the index); NULL for a
 * null value. */
static const fd__node *direct_leaf(const fd__node *s, const uint8_t **p)
{
        if (s->type == AVRO_UNION)
                s = s->kid[direct_varint(p)];
        return s->type == AVRO_NULL ? NULL : s;
}

/* A string or bytes value at *p: its bytes and length. */
static const char *direct_bytes(const uint8_t **p, size_t *n)
{
        const char *s;

        *n = (size_t)direct_varint(p);
        s = (const char *)*p;
        *p += *n;
        return s;
}

/* How many entries the attribute array of a map value at p needs: the
 * entries of all its blocks (repeated keys counted), at most
 * FD__DIRECT_MAX_ATTRS + 1; 0 for a null. */
static size_t direct_map_room(const fd__node *s, const uint8_t *p)
{
        size_t n = 0;
        int64_t left;

        s = direct_leaf(s, &p);
        if (!s || s->type != AVRO_MAP)
                return 0;
        while (n <= FD__DIRECT_MAX_ATTRS && (left = direct_varint(&p)) != 0) {
                if (left < 0) {
                        left = -left;
                        (void)direct_varint(&p);
                }
                n += (size_t)left;
                for (; left > 0; left--) {
                        size_t kn, vn;

                        (void)direct_bytes(&p, &kn);
                        if (direct_leaf(s->kid[0], &p))
                                (void)direct_bytes(&p, &vn);
                }
        }
        return n > FD__DIRECT_MAX_ATTRS ? FD__DIRECT_MAX_ATTRS + 1 : n;
}

/* Like copy_map(), with avro-c's rule for a repeated key: the entry keeps
 * its first position and takes the last value. Returns 3 for a map larger
 * than FD__DIRECT_MAX_ATTRS (left to avro-c). */
static int direct_map(dalloc *al, const fd__node *values, const uint8_t *p,
                      size_t room, fd_attr **attrs, size_t *cnt)
{
        fd_attr *a = NULL;
        size_t n = 0, i;
        int64_t left;

        if (room > FD__DIRECT_MAX_ATTRS)
                return 3;

        while ((left = direct_varint(&p)) != 0) {
                if (left < 0) {
                        left = -left;
                        (void)direct_varint(&p); /* block size in bytes */
                }
                for (; left > 0; left--) {
                        const char *k, *v = "";
                        const fd__node *vs;
                        size_t kn, vn = 0;
                        char *val;
                        int rc;

                        k = direct_bytes(&p, &kn);
                        if ((vs = direct_leaf(values, &p)))
                                v = direct_bytes(&p, &vn);
                        rc = take_str(al, v, vn, 0,
                                      !vs || vs->type == AVRO_STRING, &val);
                        if (rc != 0)
                                return rc;
                        for (i = 0; i < n; i++)
                                if (strlen(a[i].key) == kn &&
                                    memcmp(a[i].key, k, kn) == 0)
                                        break;
                        if (i < n) {
                                a[i].value = val;
                                continue;
                        }
                        if (n == FD__DIRECT_MAX_ATTRS)
                                return 3;
                        if (!a && !(a = d_alloc(al, room * sizeof(*a))))
                                return -1;
                        /* a key is a string: NUL-free (checked) */
                        if (take_str(al, k, kn, 0, 1, &a[n].key) != 0)
                                return -1;
                        a[n++].value = val;
                        *attrs = a;
                        *cnt = n;
                }
        }
        return 0;
}

/* copy_field() for the bytes of writer field type s at p. Also returns 3:
 * leave this event to avro-c. */
static int direct_field(dalloc *a, const fd__field *f, const fd__node *s,
                        const uint8_t *p, char *rec)
{
        const char *str;
        size_t n;

        s = direct_leaf(s, &p);
        switch (f->type) {
        case FD__F_STR:
        case FD__F_OPT_STR:
                *(char **)(rec + f->off) = NULL;
                if (!s)
                        return 0;
                str = direct_bytes(&p, &n);
                return take_str(a, str, n, f->type == FD__F_OPT_STR,
                                s->type == AVRO_STRING,
                                (char **)(rec + f->off));
        case FD__F_TIME:
                if (!s)
                        return 2;
                *(int64_t *)(rec + f->off) = direct_varint(&p);
                return 0;
        case FD__F_OPT_LONG:
                if (!s)
                        return 0;
                *(int *)(rec + f->off_cnt) = 1;
                *(int64_t *)(rec + f->off) = direct_varint(&p);
                return 0;
        case FD__F_ATTRS:
                if (!s)
                        return 0;
                return direct_map(a, s->kid[0], p, direct_map_room(s, p),
                                  (fd_attr **)(rec + f->off),
                                  (size_t *)(rec + f->off_cnt));
        }
        return -1;
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
                             const uint8_t *body, size_t len,
                             const uint8_t *const *at, fd_slab *slab,
                             fd_event *out, char *errstr, size_t errstr_size)
{
        const fd__reader *rd = &codec->rd[w->kind];
        char *rec = (char *)&out->u;
        dalloc a = {NULL, 0};
        size_t i;

        out->kind = w->kind;
        if (at) {
                /* One block for every string: those of the body take at
                 * most len bytes with their NULs (each has a length byte),
                 * plus the attribute arrays and the writer's defaults. */
                size_t room = 0;

                for (i = 0; i < rd->field_cnt; i++)
                        if (rd->fields[i].type == FD__F_ATTRS &&
                            w->fmap[i] >= 0)
                                room += direct_map_room(w->ftype[i],
                                                        at[w->fmap[i]]) +
                                        1;
                a.left = len + room * sizeof(fd_attr) + w->dflt_bytes +
                         2 * sizeof(void *);
                a.p = out->arena =
                        slab ? fd_slab_alloc(slab, a.left, &out->arena_owner)
                             : malloc(a.left);
                if (!a.p) {
                        snprintf(errstr, errstr_size,
                                 "out of memory decoding an event");
                        return FD_DECODE_UNDECODABLE;
                }
        } else if (avro_read_body(w, body, len, errstr, errstr_size) != 0)
                return FD_DECODE_UNDECODABLE;
        for (i = 0; i < rd->field_cnt; i++) {
                const fd__field *f = &rd->fields[i];
                avro_value_t wv;
                int rc;

                if (w->fmap[i] < 0) {
                        rc = apply_default(f, &rd->dflt[i], rec, &a);
                } else if (at) {
                        rc = direct_field(&a, f, w->ftype[i], at[w->fmap[i]],
                                          rec);
                } else {
                        rc = avro_value_get_by_index(
                                &w->value, (size_t)w->fmap[i], &wv, NULL);
                        if (rc == 0)
                                rc = copy_field(f, &wv, rec);
                }
                if (rc == 3) { /* a shape left to avro-c: start over */
                        fd_event_clear(out);
                        return fd__read_event(codec, w, body, len, NULL, NULL,
                                              out, errstr, errstr_size);
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
                                 f->name,
                                 at ? "out of memory" : avro_strerror());
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
