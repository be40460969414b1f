/* funneld — Avro encoding of events with the reader schemas in schemas/,
 * Confluent framed (magic 0, 4-byte big-endian schema id, body). The record
 * values and the memory writer are created once and reused per call. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec_internal.h"

#define SCRATCH_MIN (4 * 1024)
#define SCRATCH_MAX (64 * 1024 * 1024)

static const char *const enc_file[FD__ENC_CNT] = {
        "lead_event.avsc",      "crm_stage_event.avsc",
        "promotion_event.avsc", "attribution_event.avsc",
        "spend_event.avsc",     "alert_event.avsc"};

static int enc_load(fd__enc *enc, const char *dir, const char *file,
                    char *errstr, size_t errstr_size)
{
        char path[4096];
        size_t len = 0;
        char *text;
        int rc = -1;

        snprintf(path, sizeof(path), "%s/%s", dir, file);
        text = fd__read_file(path, &len, errstr, errstr_size);
        if (!text)
                return -1;
        if (avro_schema_from_json_length(text, len, &enc->schema) != 0) {
                snprintf(errstr, errstr_size,
                         "schema %s is not a valid Avro schema (%s); restore "
                         "it from the funneld distribution",
                         path, avro_strerror());
                goto out;
        }
        enc->iface = avro_generic_class_from_schema(enc->schema);
        if (!enc->iface || avro_generic_value_new(enc->iface, &enc->value)) {
                snprintf(errstr, errstr_size,
                         "cannot create an Avro value for %s (%s)", path,
                         avro_strerror());
                goto out;
        }
        rc = 0;
out:
        free(text);
        return rc;
}

/* The fields of the records written directly, in the order the encode
 * functions below give their values. */
static const char *const promo_fields[] = {
        "event_id",       "tenant_id", "lead_id",         "stage",
        "previous_stage", "implied",   "cycle",           "occurred_at",
        "cause_event_id", "fit_score", "engagement_score"};
static const char *const attr_fields[] = {
        "event_id",       "tenant_id",    "lead_id",
        "opportunity_id", "amount_minor", "currency",
        "closed_at",      "touch_count",  "credits"};
static const char *const credit_fields[] = {"model",    "channel",
                                            "campaign", "touch_event_id",
                                            "touch_at", "credit_minor"};
#define CNT(a) (sizeof(a) / sizeof((a)[0]))

/* Compiles the direct writers of the promotion and attribution records;
 * a schema they cannot write stays with avro-c (wplan.n == 0). */
static void plan_writers(fd_codec *codec)
{
        fd__enc *p = &codec->enc[FD__ENC_PROMO], *a = &codec->enc[FD__ENC_ATTR];
        avro_schema_t f =
                avro_typeof(a->schema) == AVRO_RECORD
                        ? avro_schema_record_field_get(a->schema, "credits")
                        : NULL;
        avro_schema_t credits = f && avro_typeof(f) == AVRO_ARRAY
                                        ? avro_schema_array_items(f)
                                        : NULL;
        /* A plan that does not compile stays empty (n == 0); so does the
         * attribution's when its credits' does not. */
        fd__wplan_compile(&p->wplan, p->schema, promo_fields, CNT(promo_fields),
                          NULL);
        fd__wplan_compile(&a->witem, credits, credit_fields, CNT(credit_fields),
                          NULL);
        fd__wplan_compile(&a->wplan, a->schema, attr_fields, CNT(attr_fields),
                          &a->witem);
}

/* Loads the four reader schemas; codec owns what is created. */
int fd__enc_init(fd_codec *codec, const char *schema_dir, char *errstr,
                 size_t errstr_size)
{
        int i;

        for (i = 0; i < FD__ENC_CNT; i++)
                if (enc_load(&codec->enc[i], schema_dir, enc_file[i], errstr,
                             errstr_size) != 0)
                        return -1;
        plan_writers(codec);
        codec->scratch = malloc(SCRATCH_MIN);
        if (!codec->scratch) {
                snprintf(errstr, errstr_size, "out of memory");
                return -1;
        }
        codec->scratch_cap = SCRATCH_MIN;
        codec->out_writer = avro_writer_memory(codec->scratch, SCRATCH_MIN);
        if (!codec->out_writer) {
                snprintf(errstr, errstr_size, "out of memory");
                return -1;
        }
        return 0;
}

/* Releases what fd__enc_init created (partially created is fine). */
void fd__enc_free(fd_codec *codec)
{
        int i;

        for (i = 0; i < FD__ENC_CNT; i++) {
                fd__enc *enc = &codec->enc[i];

                if (enc->value.self)
                        avro_value_decref(&enc->value);
                if (enc->iface)
                        avro_value_iface_decref(enc->iface);
                if (enc->schema)
                        avro_schema_decref(enc->schema);
        }
        if (codec->out_writer)
                avro_writer_free(codec->out_writer);
        free(codec->scratch);
}

/* Selects the union branch of field f whose type is want. */
static int branch_of(avro_value_t *f, avro_type_t want, avro_value_t *out)
{
        avro_schema_t us = avro_value_get_schema(f);
        size_t i, n = avro_schema_union_size(us);

        for (i = 0; i < n; i++) {
                avro_schema_t b = avro_schema_union_branch(us, (int)i);

                if (avro_typeof(b) == want)
                        return avro_value_set_branch(f, (int)i, out);
        }
        avro_set_error("union has no %s branch",
                       want == AVRO_NULL ? "null" : "matching");
        return EINVAL;
}

/* Sets string field name of rec; NULL is null for a union, else "". */
static int put_str(avro_value_t *rec, const char *name, const char *s)
{
        avro_value_t f, b;
        int rc = avro_value_get_by_name(rec, name, &f, NULL);

        if (rc != 0)
                return rc;
        if (avro_value_get_type(&f) == AVRO_UNION) {
                if (!s)
                        return branch_of(&f, AVRO_NULL, &b);
                if ((rc = branch_of(&f, AVRO_STRING, &b)) != 0)
                        return rc;
                return avro_value_set_string(&b, s);
        }
        return avro_value_set_string(&f, s ? s : "");
}

/* Sets long/int/boolean field name of rec; !has is null for a union. */
static int put_num(avro_value_t *rec, const char *name, int has, int64_t v)
{
        avro_value_t f, b;
        int rc = avro_value_get_by_name(rec, name, &f, NULL);

        if (rc != 0)
                return rc;
        if (avro_value_get_type(&f) == AVRO_UNION) {
                if (!has)
                        return branch_of(&f, AVRO_NULL, &b);
                if ((rc = branch_of(&f, AVRO_INT64, &b)) != 0)
                        return rc;
                f = b;
        }
        switch (avro_value_get_type(&f)) {
        case AVRO_INT64:
                return avro_value_set_long(&f, v);
        case AVRO_INT32:
                return avro_value_set_int(&f, (int32_t)v);
        case AVRO_BOOLEAN:
                return avro_value_set_boolean(&f, v != 0);
        default:
                avro_set_error("field %s is not numeric", name);
                return EINVAL;
        }
}

/* Writes enc's value with the Confluent header to the end of out. */
static int finish(fd_codec *codec, fd__enc *enc, int32_t schema_id, fd_buf *out,
                  char *errstr, size_t errstr_size)
{
        size_t old_len = out->len;
        int rc;

        for (;;) {
                char *grown;

                avro_writer_memory_set_dest(codec->out_writer, codec->scratch,
                                            (int64_t)codec->scratch_cap);
                rc = avro_value_write(codec->out_writer, &enc->value);
                if (rc != ENOSPC || codec->scratch_cap >= SCRATCH_MAX)
                        break;
                grown = realloc(codec->scratch, codec->scratch_cap * 2);
                if (!grown)
                        break;
                codec->scratch = grown;
                codec->scratch_cap *= 2;
        }
        if (rc != 0) {
                snprintf(errstr, errstr_size,
                         "cannot encode Avro value (%s); the event is too "
                         "large or memory ran out",
                         avro_strerror());
                return -1;
        }
        if (fd__frame_header(out, schema_id) != 0 ||
            fd_buf_append(out, codec->scratch,
                          (size_t)avro_writer_tell(codec->out_writer)) != 0) {
                out->len = old_len;
                snprintf(errstr, errstr_size, "out of memory encoding event");
                return -1;
        }
        return 0;
}

static int fail(const char *what, char *errstr, size_t errstr_size)
{
        snprintf(errstr, errstr_size,
                 "cannot fill %s for encoding (%s); check that schemas/ "
                 "matches this funneld version",
                 what, avro_strerror());
        return -1;
}

int fd_codec_encode_promotion(fd_codec *codec, int32_t schema_id,
                              const fd_promotion *p, fd_buf *out, char *errstr,
                              size_t errstr_size)
{
        fd__enc *enc = &codec->enc[FD__ENC_PROMO];
        avro_value_t *r = &enc->value;

        if (enc->wplan.n && !codec->avro_writer) {
                const fd__wval v[CNT(promo_fields)] = {
                        {.str = p->event_id},        {.str = p->tenant_id},
                        {.str = p->lead_id},         {.str = p->stage},
                        {.str = p->previous_stage},  {.num = p->implied},
                        {.num = p->cycle},           {.num = p->occurred_at},
                        {.str = p->cause_event_id},  {.num = p->fit_score},
                        {.num = p->engagement_score}};
                if (fd__wplan_write(&enc->wplan, schema_id, v, out) == 0)
                        return 0;
                snprintf(errstr, errstr_size, "out of memory encoding event");
                return -1;
        }
        avro_value_reset(r);
        if (put_str(r, "event_id", p->event_id) ||
            put_str(r, "tenant_id", p->tenant_id) ||
            put_str(r, "lead_id", p->lead_id) ||
            put_str(r, "stage", p->stage) ||
            put_str(r, "previous_stage", p->previous_stage) ||
            put_num(r, "implied", 1, p->implied) ||
            put_num(r, "cycle", 1, p->cycle) ||
            put_num(r, "occurred_at", 1, p->occurred_at) ||
            put_str(r, "cause_event_id", p->cause_event_id) ||
            put_num(r, "fit_score", 1, p->fit_score) ||
            put_num(r, "engagement_score", 1, p->engagement_score))
                return fail("PromotionEvent", errstr, errstr_size);
        return finish(codec, enc, schema_id, out, errstr, errstr_size);
}

int fd_codec_encode_alert(fd_codec *codec, int32_t schema_id, const fd_alert *a,
                          fd_buf *out, char *errstr, size_t errstr_size)
{
        fd__enc *enc = &codec->enc[FD__ENC_ALERT];
        avro_value_t *r = &enc->value;

        avro_value_reset(r);
        if (put_str(r, "event_id", a->event_id) ||
            put_str(r, "tenant_id", a->tenant_id) ||
            put_str(r, "lead_id", a->lead_id) ||
            put_str(r, "alert", a->alert) || put_str(r, "stage", a->stage) ||
            put_num(r, "cycle", 1, a->cycle) ||
            put_num(r, "entered_at", 1, a->entered_at) ||
            put_num(r, "occurred_at", 1, a->occurred_at) ||
            put_num(r, "window_ms", 1, a->window_ms) ||
            put_str(r, "clock", a->clock) ||
            put_str(r, "source_channel", a->source_channel) ||
            put_str(r, "opportunity_id", a->opportunity_id) ||
            put_num(r, "fit_score", 1, a->fit_score) ||
            put_num(r, "engagement_score", 1, a->engagement_score) ||
            put_num(r, "value_minor", a->currency != NULL, a->value_minor) ||
            put_str(r, "currency", a->currency))
                return fail("AlertEvent", errstr, errstr_size);
        return finish(codec, enc, schema_id, out, errstr, errstr_size);
}

static int put_credit(avro_value_t *arr, const fd_credit *c)
{
        avro_value_t r;

        return avro_value_append(arr, &r, NULL) ||
               put_str(&r, "model", c->model) ||
               put_str(&r, "channel", c->channel) ||
               put_str(&r, "campaign", c->campaign) ||
               put_str(&r, "touch_event_id", c->touch_event_id) ||
               put_num(&r, "touch_at", 1, c->touch_at) ||
               put_num(&r, "credit_minor", 1, c->credit_minor);
}

/* fd_codec_encode_attribution with the direct writer. */
static int write_attribution(const fd__enc *enc, int32_t schema_id,
                             const fd_attribution_out *a, fd_buf *out,
                             char *errstr, size_t errstr_size)
{
        size_t k = CNT(credit_fields);
        fd__wval *items = a->credit_cnt
                                  ? malloc(a->credit_cnt * k * sizeof(*items))
                                  : NULL;
        int rc = -1;

        if (a->credit_cnt && !items)
                goto out;
        for (size_t i = 0; i < a->credit_cnt; i++) {
                const fd_credit *c = &a->credits[i];
                fd__wval *row = items + i * k;
                row[0] = (fd__wval){.str = c->model};
                row[1] = (fd__wval){.str = c->channel};
                row[2] = (fd__wval){.str = c->campaign};
                row[3] = (fd__wval){.str = c->touch_event_id};
                row[4] = (fd__wval){.num = c->touch_at};
                row[5] = (fd__wval){.num = c->credit_minor};
        }
        const fd__wval v[CNT(attr_fields)] = {
                {.str = a->event_id},
                {.str = a->tenant_id},
                {.str = a->lead_id},
                {.str = a->opportunity_id},
                {.num = a->amount_minor},
                {.str = a->currency},
                {.num = a->closed_at},
                {.num = a->touch_count},
                {.num = (int64_t)a->credit_cnt, .items = items}};
        rc = fd__wplan_write(&enc->wplan, schema_id, v, out);
out:
        free(items);
        if (rc != 0)
                snprintf(errstr, errstr_size, "out of memory encoding event");
        return rc;
}

int fd_codec_encode_attribution(fd_codec *codec, int32_t schema_id,
                                const fd_attribution_out *a, fd_buf *out,
                                char *errstr, size_t errstr_size)
{
        fd__enc *enc = &codec->enc[FD__ENC_ATTR];
        avro_value_t *r = &enc->value;
        avro_value_t arr;
        size_t i;

        if (enc->wplan.n && !codec->avro_writer)
                return write_attribution(enc, schema_id, a, out, errstr,
                                         errstr_size);
        avro_value_reset(r);
        if (put_str(r, "event_id", a->event_id) ||
            put_str(r, "tenant_id", a->tenant_id) ||
            put_str(r, "lead_id", a->lead_id) ||
            put_str(r, "opportunity_id", a->opportunity_id) ||
            put_num(r, "amount_minor", 1, a->amount_minor) ||
            put_str(r, "currency", a->currency) ||
            put_num(r, "closed_at", 1, a->closed_at) ||
            put_num(r, "touch_count", 1, a->touch_count) ||
            avro_value_get_by_name(r, "credits", &arr, NULL))
                return fail("AttributionEvent", errstr, errstr_size);
        for (i = 0; i < a->credit_cnt; i++)
                if (put_credit(&arr, &a->credits[i]))
                        return fail("AttributionEvent credit", errstr,
                                    errstr_size);
        return finish(codec, enc, schema_id, out, errstr, errstr_size);
}

static int put_lead(avro_value_t *r, const fd_lead_event *le)
{
        avro_value_t map, v;
        size_t i;

        if (put_str(r, "event_id", le->event_id) ||
            put_str(r, "tenant_id", le->tenant_id) ||
            put_num(r, "occurred_at", 1, le->occurred_at) ||
            put_str(r, "lead_id", le->lead_id) ||
            put_str(r, "anonymous_id", le->anonymous_id) ||
            put_str(r, "type", le->type) ||
            put_str(r, "channel", le->channel) ||
            put_str(r, "campaign", le->campaign) ||
            put_str(r, "utm_source", le->utm_source) ||
            put_str(r, "utm_medium", le->utm_medium) ||
            put_str(r, "utm_campaign", le->utm_campaign) ||
            put_str(r, "utm_term", le->utm_term) ||
            put_str(r, "utm_content", le->utm_content) ||
            avro_value_get_by_name(r, "attributes", &map, NULL))
                return -1;
        for (i = 0; i < le->attr_cnt; i++) {
                const fd_attr *a = &le->attrs[i];

                if (!a->key || avro_value_add(&map, a->key, &v, NULL, NULL) ||
                    avro_value_set_string(&v, a->value ? a->value : ""))
                        return -1;
        }
        return 0;
}

static int put_crm(avro_value_t *r, const fd_crm_event *ce)
{
        return put_str(r, "event_id", ce->event_id) ||
               put_str(r, "tenant_id", ce->tenant_id) ||
               put_num(r, "occurred_at", 1, ce->occurred_at) ||
               put_str(r, "lead_id", ce->lead_id) ||
               put_str(r, "stage", ce->stage) ||
               put_str(r, "opportunity_id", ce->opportunity_id) ||
               put_num(r, "amount_minor", ce->has_amount, ce->amount_minor) ||
               put_str(r, "currency", ce->currency) ||
               put_str(r, "owner", ce->owner);
}

static int put_spend(avro_value_t *r, const fd_spend_event *se)
{
        return put_str(r, "event_id", se->event_id) ||
               put_str(r, "tenant_id", se->tenant_id) ||
               put_num(r, "occurred_at", 1, se->occurred_at) ||
               put_str(r, "channel", se->channel) ||
               put_str(r, "campaign", se->campaign) ||
               put_str(r, "day", se->day) ||
               put_num(r, "amount_minor", 1, se->amount_minor) ||
               put_str(r, "currency", se->currency);
}

int fd_codec_encode_event(fd_codec *codec, int32_t schema_id,
                          const fd_event *ev, fd_buf *out, char *errstr,
                          size_t errstr_size)
{
        fd__enc *enc;

        if (ev->kind == FD_EV_LEAD) {
                enc = &codec->enc[FD__ENC_LEAD];
                avro_value_reset(&enc->value);
                if (put_lead(&enc->value, &ev->u.lead))
                        return fail("LeadEvent", errstr, errstr_size);
        } else if (ev->kind == FD_EV_CRM) {
                enc = &codec->enc[FD__ENC_CRM];
                avro_value_reset(&enc->value);
                if (put_crm(&enc->value, &ev->u.crm))
                        return fail("CrmStageEvent", errstr, errstr_size);
        } else if (ev->kind == FD_EV_SPEND) {
                enc = &codec->enc[FD__ENC_SPEND];
                avro_value_reset(&enc->value);
                if (put_spend(&enc->value, &ev->u.spend))
                        return fail("SpendEvent", errstr, errstr_size);
        } else {
                snprintf(errstr, errstr_size,
                         "cannot encode an event of unknown kind %d; set "
                         "ev->kind to FD_EV_LEAD, FD_EV_CRM or FD_EV_SPEND",
                         (int)ev->kind);
                return -1;
        }
        return finish(codec, enc, schema_id, out, errstr, errstr_size);
}
