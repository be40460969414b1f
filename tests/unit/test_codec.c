/* Unit tests of the Avro codec: round trips, output encodings read back with
 * avro-c, Confluent / plain framing, schema evolution, validation and
 * hostile input. Runs from the repo root (or with FUNNELD_SOURCE_DIR set). */
#include <avro.h>
#include <stdlib.h>

#include "fdtest.h"
#include "funneld/codec.h"
#include "validate.h"

#define ID_LEAD 1
#define ID_CRM  2

static const fd_decode_limits limits = {
        65536, 946684800000LL /* 2000-01-01 */,
        4102444799999LL /* 2099-12-31T23:59:59.999Z */, NULL};

static char errstr[512];

static const char *src_path(const char *rel)
{
        static char path[8][4096];
        static int slot;
        const char *dir = getenv("FUNNELD_SOURCE_DIR");

        slot = (slot + 1) % 8;
        snprintf(path[slot], sizeof(path[slot]), "%s/%s", dir ? dir : ".", rel);
        return path[slot];
}

/* Returns a codec with ids 1 (LeadEvent) and 2 (CrmStageEvent) registered
 * with the reader schemas; the caller destroys it. */
static fd_codec *codec_std(void)
{
        fd_codec *codec =
                fd_codec_new(src_path("schemas"), errstr, sizeof(errstr));

        if (!codec) {
                fprintf(stderr, "fd_codec_new: %s\n", errstr);
                return NULL;
        }
        if (fd_codec_add_writer(codec, ID_LEAD, FD_EV_LEAD,
                                src_path("schemas/lead_event.avsc"), errstr,
                                sizeof(errstr)) != 0 ||
            fd_codec_add_writer(codec, ID_CRM, FD_EV_CRM,
                                src_path("schemas/crm_stage_event.avsc"),
                                errstr, sizeof(errstr)) != 0) {
                fprintf(stderr, "fd_codec_add_writer: %s\n", errstr);
                fd_codec_destroy(codec);
                return NULL;
        }
        return codec;
}

static fd_attr sample_attrs[] = {
        {"job_title", "VP Marketing"},
        {"company_size", "201-500"},
        {"persona", "marketing_leader"},
};

/* A fully populated LeadEvent; strings point to literals (never cleared). */
static fd_event sample_lead(void)
{
        fd_event ev = {0};
        fd_lead_event *le = &ev.u.lead;

        ev.kind = FD_EV_LEAD;
        le->event_id = "ev-1";
        le->tenant_id = "acme";
        le->occurred_at = 1700000000123LL;
        le->lead_id = "lead-42";
        le->anonymous_id = "anon-7";
        le->type = "form_submit";
        le->channel = "paid_search";
        le->campaign = "q4-brand";
        le->utm_source = "google";
        le->utm_medium = "cpc";
        le->utm_campaign = "brand";
        le->utm_term = "funnel analytics";
        le->utm_content = "ad-3";
        le->attr_cnt = 3;
        le->attrs = sample_attrs;
        return ev;
}

static fd_event sample_crm(void)
{
        fd_event ev = {0};
        fd_crm_event *ce = &ev.u.crm;

        ev.kind = FD_EV_CRM;
        ce->event_id = "crm-1";
        ce->tenant_id = "acme";
        ce->occurred_at = 1700000500000LL;
        ce->lead_id = "lead-42";
        ce->stage = "closed_won";
        ce->opportunity_id = "opp-9";
        ce->has_amount = 1;
        ce->amount_minor = 1234567;
        ce->currency = "EUR";
        ce->owner = "rep@acme.test";
        return ev;
}

static void encode(fd_codec *codec, int32_t id, const fd_event *ev, fd_buf *out)
{
        fd_buf_reset(out);
        if (fd_codec_encode_event(codec, id, ev, out, errstr, sizeof(errstr)) !=
            0) {
                fprintf(stderr, "encode: %s\n", errstr);
                FD_CHECK(0);
        }
}

static fd_decode_err decode(fd_codec *codec, fd_event_kind kind,
                            const fd_buf *b, fd_event *out)
{
        return fd_codec_decode(codec, kind, b->data, b->len, &limits, out,
                               errstr, sizeof(errstr));
}

static void test_lead_round_trip(void)
{
        fd_codec *codec = codec_std();
        fd_event in = sample_lead(), out = {0};
        fd_buf b = {0};
        const fd_lead_event *le = &out.u.lead;

        FD_CHECK(codec != NULL);
        if (!codec)
                return;
        encode(codec, ID_LEAD, &in, &b);
        FD_CHECK_INT(b.data[0], 0);
        FD_CHECK_INT(b.data[4], ID_LEAD);
        FD_CHECK_INT(decode(codec, FD_EV_LEAD, &b, &out), FD_DECODE_OK);
        FD_CHECK_INT(out.kind, FD_EV_LEAD);
        FD_CHECK_STR(le->event_id, "ev-1");
        FD_CHECK_STR(le->tenant_id, "acme");
        FD_CHECK_INT(le->occurred_at, 1700000000123LL);
        FD_CHECK_STR(le->lead_id, "lead-42");
        FD_CHECK_STR(le->anonymous_id, "anon-7");
        FD_CHECK_STR(le->type, "form_submit");
        FD_CHECK_STR(le->channel, "paid_search");
        FD_CHECK_STR(le->campaign, "q4-brand");
        FD_CHECK_STR(le->utm_source, "google");
        FD_CHECK_STR(le->utm_medium, "cpc");
        FD_CHECK_STR(le->utm_campaign, "brand");
        FD_CHECK_STR(le->utm_term, "funnel analytics");
        FD_CHECK_STR(le->utm_content, "ad-3");
        FD_CHECK_INT(le->len.tenant_id, 4); /* kept by the decoder */
        FD_CHECK_INT(le->len.type, 11);
        FD_CHECK_INT(le->len.campaign, 8);
        FD_CHECK_INT(le->attr_cnt, 3);
        FD_CHECK_STR(fd_lead_event_attr(le, "job_title"), "VP Marketing");
        FD_CHECK_STR(fd_lead_event_attr(le, "company_size"), "201-500");
        FD_CHECK_STR(fd_lead_event_attr(le, "persona"), "marketing_leader");
        FD_CHECK(fd_lead_event_attr(le, "country") == NULL);

        /* Nulls and empty optionals: anonymous page view, no attributes. */
        in.u.lead.lead_id = NULL;
        in.u.lead.channel = NULL;
        in.u.lead.campaign = "";
        in.u.lead.utm_source = in.u.lead.utm_medium = NULL;
        in.u.lead.utm_campaign = in.u.lead.utm_term = NULL;
        in.u.lead.utm_content = NULL;
        in.u.lead.attr_cnt = 0;
        in.u.lead.type = "page_view";
        encode(codec, ID_LEAD, &in, &b);
        FD_CHECK_INT(decode(codec, FD_EV_LEAD, &b, &out), FD_DECODE_OK);
        FD_CHECK(le->lead_id == NULL);
        FD_CHECK_STR(le->anonymous_id, "anon-7");
        FD_CHECK_STR(le->type, "page_view");
        FD_CHECK(le->channel == NULL);
        FD_CHECK(le->campaign == NULL); /* "" optional -> NULL */
        FD_CHECK_INT(le->len.campaign, 0);
        FD_CHECK_INT(le->len.lead_id, 0);
        FD_CHECK(le->utm_source == NULL && le->utm_content == NULL);
        FD_CHECK_INT(le->attr_cnt, 0);
        FD_CHECK(le->attrs == NULL);
        fd_event_clear(&out);
        FD_CHECK_INT(out.kind, FD_EV_NONE);
        fd_event_clear(&out); /* clearing twice is safe */
        fd_buf_free(&b);
        fd_codec_destroy(codec);
}

static void test_crm_round_trip(void)
{
        fd_codec *codec = codec_std();
        fd_event in = sample_crm(), out = {0};
        fd_buf b = {0};
        const fd_crm_event *ce = &out.u.crm;

        FD_CHECK(codec != NULL);
        if (!codec)
                return;
        encode(codec, ID_CRM, &in, &b);
        FD_CHECK_INT(b.data[4], ID_CRM);
        FD_CHECK_INT(decode(codec, FD_EV_CRM, &b, &out), FD_DECODE_OK);
        FD_CHECK_INT(out.kind, FD_EV_CRM);
        FD_CHECK_STR(ce->event_id, "crm-1");
        FD_CHECK_STR(ce->tenant_id, "acme");
        FD_CHECK_INT(ce->occurred_at, 1700000500000LL);
        FD_CHECK_STR(ce->lead_id, "lead-42");
        FD_CHECK_STR(ce->stage, "closed_won");
        FD_CHECK_STR(ce->opportunity_id, "opp-9");
        FD_CHECK_INT(ce->has_amount, 1);
        FD_CHECK_INT(ce->amount_minor, 1234567);
        FD_CHECK_STR(ce->currency, "EUR");
        FD_CHECK_STR(ce->owner, "rep@acme.test");

        /* No amount, no currency, no owner; stage in upper case is
         * canonicalised; recycling is accepted. */
        in.u.crm.has_amount = 0;
        in.u.crm.currency = in.u.crm.owner = in.u.crm.opportunity_id = NULL;
        in.u.crm.stage = "SQL";
        encode(codec, ID_CRM, &in, &b);
        FD_CHECK_INT(decode(codec, FD_EV_CRM, &b, &out), FD_DECODE_OK);
        FD_CHECK_INT(ce->has_amount, 0);
        FD_CHECK(ce->currency == NULL && ce->owner == NULL);
        FD_CHECK(ce->opportunity_id == NULL);
        FD_CHECK_STR(ce->stage, "sql");
        in.u.crm.stage = "recycled";
        encode(codec, ID_CRM, &in, &b);
        FD_CHECK_INT(decode(codec, FD_EV_CRM, &b, &out), FD_DECODE_OK);
        FD_CHECK_STR(ce->stage, "recycled");
        fd_event_clear(&out);
        fd_buf_free(&b);
        fd_codec_destroy(codec);
}

/* Reads a Confluent-framed value back with avro-c and the reader schema
 * file; the caller releases the three out-parameters with read_back_free. */
typedef struct readback {
        avro_schema_t schema;
        avro_value_iface_t *iface;
        avro_value_t value;
        int ok;
} readback;

static void read_back(readback *rb, const char *schema_file, const fd_buf *b)
{
        char json[16384];
        FILE *fp = fopen(src_path(schema_file), "rb");
        size_t n = fp ? fread(json, 1, sizeof(json), fp) : 0;
        avro_reader_t reader;
        char extra;

        memset(rb, 0, sizeof(*rb));
        if (fp)
                fclose(fp);
        FD_CHECK(n > 0 && n < sizeof(json));
        FD_CHECK_INT(avro_schema_from_json_length(json, n, &rb->schema), 0);
        rb->iface = avro_generic_class_from_schema(rb->schema);
        FD_CHECK_INT(avro_generic_value_new(rb->iface, &rb->value), 0);
        FD_CHECK(b->len > 5);
        reader = avro_reader_memory(b->data + 5, (int64_t)b->len - 5);
        /* The body must be consumed exactly: one more byte is not there. */
        rb->ok = avro_value_read(reader, &rb->value) == 0 &&
                 avro_read(reader, &extra, 1) != 0;
        FD_CHECK(rb->ok);
        avro_reader_free(reader);
}

static void read_back_free(readback *rb)
{
        avro_value_decref(&rb->value);
        avro_value_iface_decref(rb->iface);
        avro_schema_decref(rb->schema);
}

/* The string in field name of rec (through a union), NULL for null. */
static const char *rb_str(avro_value_t *rec, const char *name)
{
        avro_value_t f, b = {NULL, NULL};
        const char *s = NULL;
        size_t n;

        if (avro_value_get_by_name(rec, name, &f, NULL) != 0)
                return "(no such field)";
        if (avro_value_get_type(&f) == AVRO_UNION) {
                avro_value_get_current_branch(&f, &b);
                f = b;
        }
        if (avro_value_get_type(&f) == AVRO_NULL)
                return NULL;
        if (avro_value_get_string(&f, &s, &n) != 0)
                return "(not a string)";
        return s;
}

static int64_t rb_num(avro_value_t *rec, const char *name)
{
        avro_value_t f;
        int64_t l = -999;
        int32_t i;
        int bo;

        if (avro_value_get_by_name(rec, name, &f, NULL) != 0)
                return -999;
        if (avro_value_get_type(&f) == AVRO_INT64)
                avro_value_get_long(&f, &l);
        else if (avro_value_get_type(&f) == AVRO_INT32 &&
                 avro_value_get_int(&f, &i) == 0)
                l = i;
        else if (avro_value_get_type(&f) == AVRO_BOOLEAN &&
                 avro_value_get_boolean(&f, &bo) == 0)
                l = bo;
        return l;
}

static void test_promotion_encode(void)
{
        fd_codec *codec = codec_std();
        fd_promotion p = {"promo-1", "acme",          "lead-42", "mql", "", 1,
                          2,         1700000000999LL, "ev-1",    35,    -5};
        fd_buf b = {0};
        readback rb;

        FD_CHECK(codec != NULL);
        if (!codec)
                return;
        FD_CHECK_INT(fd_codec_encode_promotion(codec, 300, &p, &b, errstr,
                                               sizeof(errstr)),
                     0);
        FD_CHECK_INT((uint8_t)b.data[0], 0);
        FD_CHECK_INT((uint8_t)b.data[3], 1); /* 300 = 0x012c big-endian */
        FD_CHECK_INT((uint8_t)b.data[4], 0x2c);
        read_back(&rb, "schemas/promotion_event.avsc", &b);
        FD_CHECK_STR(rb_str(&rb.value, "event_id"), "promo-1");
        FD_CHECK_STR(rb_str(&rb.value, "tenant_id"), "acme");
        FD_CHECK_STR(rb_str(&rb.value, "lead_id"), "lead-42");
        FD_CHECK_STR(rb_str(&rb.value, "stage"), "mql");
        FD_CHECK_STR(rb_str(&rb.value, "previous_stage"), "");
        FD_CHECK_INT(rb_num(&rb.value, "implied"), 1);
        FD_CHECK_INT(rb_num(&rb.value, "cycle"), 2);
        FD_CHECK_INT(rb_num(&rb.value, "occurred_at"), 1700000000999LL);
        FD_CHECK_STR(rb_str(&rb.value, "cause_event_id"), "ev-1");
        FD_CHECK_INT(rb_num(&rb.value, "fit_score"), 35);
        FD_CHECK_INT(rb_num(&rb.value, "engagement_score"), -5);
        read_back_free(&rb);

        /* A second encode appends and reuses the codec's value. */
        p.stage = "sql";
        p.previous_stage = "mql";
        p.implied = 0;
        fd_buf_reset(&b);
        FD_CHECK_INT(fd_codec_encode_promotion(codec, 300, &p, &b, errstr,
                                               sizeof(errstr)),
                     0);
        read_back(&rb, "schemas/promotion_event.avsc", &b);
        FD_CHECK_STR(rb_str(&rb.value, "stage"), "sql");
        FD_CHECK_STR(rb_str(&rb.value, "previous_stage"), "mql");
        FD_CHECK_INT(rb_num(&rb.value, "implied"), 0);
        read_back_free(&rb);
        fd_buf_free(&b);
        fd_codec_destroy(codec);
}

static void check_credit(avro_value_t *arr, size_t i, const fd_credit *c)
{
        avro_value_t r;

        FD_CHECK_INT(avro_value_get_by_index(arr, i, &r, NULL), 0);
        FD_CHECK_STR(rb_str(&r, "model"), c->model);
        FD_CHECK_STR(rb_str(&r, "channel"), c->channel);
        if (c->campaign)
                FD_CHECK_STR(rb_str(&r, "campaign"), c->campaign);
        else
                FD_CHECK(rb_str(&r, "campaign") == NULL);
        FD_CHECK_STR(rb_str(&r, "touch_event_id"), c->touch_event_id);
        FD_CHECK_INT(rb_num(&r, "touch_at"), c->touch_at);
        FD_CHECK_INT(rb_num(&r, "credit_minor"), c->credit_minor);
}

static void test_attribution_encode(void)
{
        fd_codec *codec = codec_std();
        static char big[20000];
        fd_credit credits[3] = {
                {"first_touch", "paid_search", "q4", "ev-1", 1000, 10000},
                {"linear", "email", NULL, "ev-2", 2000, 5001},
                {"linear", "paid_search", "q4", "ev-1", 1000, 4999},
        };
        fd_attribution_out a = {"attr-1", "acme", "lead-42", "opp-9", 10000,
                                "USD",    3000,   2,         credits, 3};
        fd_buf b = {0};
        avro_value_t arr;
        size_t n = 0, i;
        readback rb;

        FD_CHECK(codec != NULL);
        if (!codec)
                return;
        FD_CHECK_INT(fd_codec_encode_attribution(codec, 5, &a, &b, errstr,
                                                 sizeof(errstr)),
                     0);
        read_back(&rb, "schemas/attribution_event.avsc", &b);
        FD_CHECK_STR(rb_str(&rb.value, "event_id"), "attr-1");
        FD_CHECK_STR(rb_str(&rb.value, "tenant_id"), "acme");
        FD_CHECK_STR(rb_str(&rb.value, "lead_id"), "lead-42");
        FD_CHECK_STR(rb_str(&rb.value, "opportunity_id"), "opp-9");
        FD_CHECK_INT(rb_num(&rb.value, "amount_minor"), 10000);
        FD_CHECK_STR(rb_str(&rb.value, "currency"), "USD");
        FD_CHECK_INT(rb_num(&rb.value, "closed_at"), 3000);
        FD_CHECK_INT(rb_num(&rb.value, "touch_count"), 2);
        FD_CHECK_INT(avro_value_get_by_name(&rb.value, "credits", &arr, NULL),
                     0);
        FD_CHECK_INT(avro_value_get_size(&arr, &n), 0);
        FD_CHECK_INT(n, 3);
        for (i = 0; i < n && i < 3; i++)
                check_credit(&arr, i, &credits[i]);
        read_back_free(&rb);

        /* Reuse: no credits now, and a value larger than the initial
         * scratch buffer (forces the ENOSPC growth path). */
        memset(big, 'x', sizeof(big) - 1);
        a.credit_cnt = 0;
        a.opportunity_id = big;
        fd_buf_reset(&b);
        FD_CHECK_INT(fd_codec_encode_attribution(codec, 5, &a, &b, errstr,
                                                 sizeof(errstr)),
                     0);
        read_back(&rb, "schemas/attribution_event.avsc", &b);
        FD_CHECK_INT(avro_value_get_by_name(&rb.value, "credits", &arr, NULL),
                     0);
        FD_CHECK_INT(avro_value_get_size(&arr, &n), 0);
        FD_CHECK_INT(n, 0);
        FD_CHECK_INT(strlen(rb_str(&rb.value, "opportunity_id")),
                     sizeof(big) - 1);
        read_back_free(&rb);
        fd_buf_free(&b);
        fd_codec_destroy(codec);
}

/* Encoding with an arbitrary writer schema, through avro-c generic values,
 * to produce what a producer with another schema version would send. */
typedef struct wenc {
        avro_schema_t schema;
        avro_value_iface_t *iface;
        avro_value_t value;
} wenc;

static int wenc_open(wenc *w, const char *rel)
{
        char json[16384];
        FILE *fp = fopen(src_path(rel), "rb");
        size_t n = fp ? fread(json, 1, sizeof(json), fp) : 0;

        if (fp)
                fclose(fp);
        memset(w, 0, sizeof(*w));
        if (n == 0 || avro_schema_from_json_length(json, n, &w->schema)) {
                fprintf(stderr, "cannot load %s: %s\n", rel, avro_strerror());
                return -1;
        }
        w->iface = avro_generic_class_from_schema(w->schema);
        return avro_generic_value_new(w->iface, &w->value);
}

static void wenc_close(wenc *w)
{
        avro_value_decref(&w->value);
        avro_value_iface_decref(w->iface);
        avro_schema_decref(w->schema);
}

/* Field name of rec, through a union: the null branch if is_null, else the
 * first non-null branch. */
static avro_value_t w_field(avro_value_t *rec, const char *name, int is_null)
{
        avro_value_t f, b = {NULL, NULL};
        avro_schema_t us;
        size_t i;

        FD_CHECK_INT(avro_value_get_by_name(rec, name, &f, NULL), 0);
        if (avro_value_get_type(&f) != AVRO_UNION)
                return f;
        us = avro_value_get_schema(&f);
        for (i = 0; i < avro_schema_union_size(us); i++) {
                int null_branch =
                        is_avro_null(avro_schema_union_branch(us, (int)i));

                if (null_branch == is_null) {
                        FD_CHECK_INT(avro_value_set_branch(&f, (int)i, &b), 0);
                        return b;
                }
        }
        FD_CHECK(0);
        return f;
}

static void w_str(avro_value_t *rec, const char *name, const char *s)
{
        avro_value_t f = w_field(rec, name, s == NULL);

        if (!s)
                return;
        if (avro_value_get_type(&f) == AVRO_BYTES)
                FD_CHECK_INT(avro_value_set_bytes(&f, (void *)s, strlen(s)), 0);
        else
                FD_CHECK_INT(avro_value_set_string(&f, s), 0);
}

static void w_num(avro_value_t *rec, const char *name, int64_t v)
{
        avro_value_t f = w_field(rec, name, 0);

        if (avro_value_get_type(&f) == AVRO_INT32)
                FD_CHECK_INT(avro_value_set_int(&f, (int32_t)v), 0);
        else
                FD_CHECK_INT(avro_value_set_long(&f, v), 0);
}

/* Writes w's value to out, Confluent framed with id, or plain if id < 0. */
static void wenc_write(wenc *w, int32_t id, fd_buf *out)
{
        static char body[8192];
        uint8_t hdr[5] = {0, 0, 0, (uint8_t)(id >> 8), (uint8_t)id};
        avro_writer_t wr = avro_writer_memory(body, sizeof(body));

        FD_CHECK_INT(avro_value_write(wr, &w->value), 0);
        fd_buf_reset(out);
        if (id >= 0)
                fd_buf_append(out, hdr, sizeof(hdr));
        fd_buf_append(out, body, (size_t)avro_writer_tell(wr));
        avro_writer_free(wr);
}

static void test_confluent_routing(void)
{
        fd_codec *codec = codec_std();
        fd_event in = sample_lead(), out = {0};
        fd_buf b = {0};

        FD_CHECK(codec != NULL);
        if (!codec)
                return;
        encode(codec, ID_LEAD, &in, &b);
        /* Lead schema id on the CRM topic. */
        FD_CHECK_INT(decode(codec, FD_EV_CRM, &b, &out),
                     FD_DECODE_INCOMPATIBLE);
        FD_CHECK(strstr(errstr, "LeadEvent") != NULL);
        FD_CHECK_INT(out.kind, FD_EV_NONE);
        /* Unknown id. */
        b.data[4] = 99;
        FD_CHECK_INT(decode(codec, FD_EV_LEAD, &b, &out),
                     FD_DECODE_UNKNOWN_SCHEMA);
        FD_CHECK(strstr(errstr, "99") != NULL);
        /* Wrong magic byte, no plain writer. */
        b.data[0] = 1;
        b.data[4] = ID_LEAD;
        FD_CHECK_INT(decode(codec, FD_EV_LEAD, &b, &out), FD_DECODE_BAD_MAGIC);
        /* Short Confluent header. */
        FD_CHECK_INT(fd_codec_decode(codec, FD_EV_LEAD, "\0\0\0", 3, &limits,
                                     &out, errstr, sizeof(errstr)),
                     FD_DECODE_UNDECODABLE);
        FD_CHECK(strstr(errstr, "too short") != NULL);
        /* Duplicate id and bad kind are rejected at registration. */
        FD_CHECK(fd_codec_add_writer(codec, ID_LEAD, FD_EV_LEAD,
                                     src_path("schemas/lead_event.avsc"),
                                     errstr, sizeof(errstr)) != 0);
        FD_CHECK(fd_codec_add_writer(codec, 3, FD_EV_NONE,
                                     src_path("schemas/lead_event.avsc"),
                                     errstr, sizeof(errstr)) != 0);
        fd_buf_free(&b);
        fd_codec_destroy(codec);
}

static void test_plain_avro(void)
{
        fd_codec *codec = codec_std();
        fd_event in = sample_lead(), out = {0};
        fd_buf b = {0}, plain = {0};

        FD_CHECK(codec != NULL);
        if (!codec)
                return;
        FD_CHECK_INT(
                fd_codec_set_plain_writer(codec, FD_EV_LEAD,
                                          src_path("schemas/lead_event.avsc"),
                                          errstr, sizeof(errstr)),
                0);
        encode(codec, ID_LEAD, &in, &b);
        fd_buf_append(&plain, b.data + 5, b.len - 5);
        FD_CHECK_INT(decode(codec, FD_EV_LEAD, &plain, &out), FD_DECODE_OK);
        FD_CHECK_STR(out.u.lead.event_id, "ev-1");
        FD_CHECK_INT(out.u.lead.attr_cnt, 3);
        /* Framed values still route by id while a plain writer is set. */
        FD_CHECK_INT(decode(codec, FD_EV_LEAD, &b, &out), FD_DECODE_OK);
        FD_CHECK_STR(out.u.lead.utm_term, "funnel analytics");
        /* A plain body starting with 0 (empty event_id) whose bytes 1..4 are
         * no registered id is read as plain: the rule in codec.c. */
        in.u.lead.event_id = "";
        encode(codec, ID_LEAD, &in, &b);
        fd_buf_reset(&plain);
        fd_buf_append(&plain, b.data + 5, b.len - 5);
        FD_CHECK_INT((uint8_t)plain.data[0], 0);
        FD_CHECK_INT(decode(codec, FD_EV_LEAD, &plain, &out),
                     FD_DECODE_MISSING_FIELD);
        FD_CHECK(strstr(errstr, "'event_id'") != NULL);
        /* No plain writer for CRM: unframed CRM values are rejected. */
        FD_CHECK_INT(decode(codec, FD_EV_CRM, &plain, &out),
                     FD_DECODE_UNKNOWN_SCHEMA);
        plain.data[0] = 0x10;
        FD_CHECK_INT(decode(codec, FD_EV_CRM, &plain, &out),
                     FD_DECODE_BAD_MAGIC);
        fd_event_clear(&out);
        fd_buf_free(&b);
        fd_buf_free(&plain);
        fd_codec_destroy(codec);
}

static void test_evolution_extra_fields(void)
{
        fd_codec *codec = codec_std();
        const char *v2 = "tests/unit/data/lead_event_v2_extra.avsc";
        fd_event out = {0};
        fd_buf b = {0};
        avro_value_t map, arr, v;
        wenc w;

        FD_CHECK(codec != NULL);
        if (!codec || wenc_open(&w, v2) != 0)
                goto out;
        FD_CHECK_INT(fd_codec_add_writer(codec, 7, FD_EV_LEAD, src_path(v2),
                                         errstr, sizeof(errstr)),
                     0);
        w_str(&w.value, "tenant_id", "acme");
        w_str(&w.value, "event_id", "ev-v2");
        w_str(&w.value, "referrer", "https://news.example/");
        w_num(&w.value, "occurred_at", 1700000000000LL);
        w_num(&w.value, "page_depth", 4);
        w_str(&w.value, "lead_id", NULL);
        w_str(&w.value, "anonymous_id", "anon-1");
        w_str(&w.value, "type", "pricing_page_view");
        w_str(&w.value, "channel", "organic_search");
        w_str(&w.value, "campaign", NULL);
        w_str(&w.value, "utm_source", NULL);
        w_str(&w.value, "utm_medium", NULL);
        w_str(&w.value, "utm_campaign", NULL);
        w_str(&w.value, "utm_term", "pricing");
        w_str(&w.value, "utm_content", NULL);
        FD_CHECK_INT(avro_value_get_by_name(&w.value, "attributes", &map, NULL),
                     0);
        FD_CHECK_INT(avro_value_add(&map, "country", &v, NULL, NULL), 0);
        FD_CHECK_INT(avro_value_set_string(&v, "DE"), 0);
        FD_CHECK_INT(avro_value_get_by_name(&w.value, "tags", &arr, NULL), 0);
        FD_CHECK_INT(avro_value_append(&arr, &v, NULL), 0);
        FD_CHECK_INT(avro_value_set_string(&v, "returning"), 0);
        wenc_write(&w, 7, &b);
        FD_CHECK_INT(decode(codec, FD_EV_LEAD, &b, &out), FD_DECODE_OK);
        FD_CHECK_STR(out.u.lead.event_id, "ev-v2");
        FD_CHECK_STR(out.u.lead.tenant_id, "acme");
        FD_CHECK_INT(out.u.lead.occurred_at, 1700000000000LL);
        FD_CHECK(out.u.lead.lead_id == NULL);
        FD_CHECK_STR(out.u.lead.anonymous_id, "anon-1");
        FD_CHECK_STR(out.u.lead.type, "pricing_page_view");
        FD_CHECK_STR(out.u.lead.channel, "organic_search");
        FD_CHECK_STR(out.u.lead.utm_term, "pricing");
        FD_CHECK_INT(out.u.lead.attr_cnt, 1);
        FD_CHECK_STR(fd_lead_event_attr(&out.u.lead, "country"), "DE");
        FD_CHECK(out.arena != NULL); /* read in one pass, not by avro-c */
        /* The same bytes under the reader's id do not decode. */
        b.data[4] = ID_LEAD;
        FD_CHECK(decode(codec, FD_EV_LEAD, &b, &out) != FD_DECODE_OK);
        FD_CHECK_INT(out.kind, FD_EV_NONE);
        wenc_close(&w);
out:
        fd_event_clear(&out);
        fd_buf_free(&b);
        fd_codec_destroy(codec);
}

static void test_evolution_missing_fields(void)
{
        fd_codec *codec = codec_std();
        const char *v0 = "tests/unit/data/lead_event_v0_minimal.avsc";
        const char *c0 = "tests/unit/data/crm_stage_event_v0_int_amount.avsc";
        fd_event out = {0};
        fd_buf b = {0};
        wenc w;

        FD_CHECK(codec != NULL);
        if (!codec || wenc_open(&w, v0) != 0)
                goto out;
        FD_CHECK_INT(fd_codec_add_writer(codec, 8, FD_EV_LEAD, src_path(v0),
                                         errstr, sizeof(errstr)),
                     0);
        w_str(&w.value, "event_id", "ev-v0");
        w_str(&w.value, "tenant_id", "acme");
        w_num(&w.value, "occurred_at", 1600000000000LL);
        w_str(&w.value, "lead_id", "lead-1");
        w_str(&w.value, "type", "content_download");
        w_str(&w.value, "campaign", "ebook");
        w_str(&w.value, "utm_source", "linkedin");
        w_str(&w.value, "utm_medium", NULL);
        w_str(&w.value, "utm_campaign", "ebook-q3");
        wenc_write(&w, 8, &b);
        wenc_close(&w);
        FD_CHECK_INT(decode(codec, FD_EV_LEAD, &b, &out), FD_DECODE_OK);
        FD_CHECK_STR(out.u.lead.event_id, "ev-v0");
        FD_CHECK_STR(out.u.lead.lead_id, "lead-1");
        FD_CHECK(out.u.lead.anonymous_id == NULL); /* default null */
        FD_CHECK(out.u.lead.channel == NULL);
        FD_CHECK_STR(out.u.lead.campaign, "ebook");
        FD_CHECK_STR(out.u.lead.utm_source, "linkedin");
        FD_CHECK(out.u.lead.utm_medium == NULL);
        FD_CHECK(out.u.lead.utm_term == NULL && out.u.lead.utm_content == NULL);
        FD_CHECK_INT(out.u.lead.attr_cnt, 0); /* default {} */
        FD_CHECK(out.arena != NULL); /* read in one pass, not by avro-c */

        /* CRM: int amount promoted to long, bytes currency, no owner. */
        if (wenc_open(&w, c0) != 0)
                goto out;
        FD_CHECK_INT(fd_codec_add_writer(codec, 9, FD_EV_CRM, src_path(c0),
                                         errstr, sizeof(errstr)),
                     0);
        w_str(&w.value, "event_id", "crm-v0");
        w_str(&w.value, "tenant_id", "acme");
        w_num(&w.value, "occurred_at", 1600000000000LL);
        w_str(&w.value, "lead_id", "lead-1");
        w_str(&w.value, "stage", "opportunity");
        w_num(&w.value, "amount_minor", 250000);
        w_str(&w.value, "currency", "GBP");
        wenc_write(&w, 9, &b);
        wenc_close(&w);
        FD_CHECK_INT(decode(codec, FD_EV_CRM, &b, &out), FD_DECODE_OK);
        FD_CHECK_STR(out.u.crm.stage, "opportunity");
        FD_CHECK_INT(out.u.crm.has_amount, 1);
        FD_CHECK_INT(out.u.crm.amount_minor, 250000);
        FD_CHECK_STR(out.u.crm.currency, "GBP");
        FD_CHECK(out.u.crm.owner == NULL && out.u.crm.opportunity_id == NULL);
        FD_CHECK(out.arena != NULL); /* an int and bytes, in one pass too */
out:
        fd_event_clear(&out);
        fd_buf_free(&b);
        fd_codec_destroy(codec);
}

static void expect_rejected(fd_codec *codec, const char *rel,
                            fd_event_kind kind, const char *field)
{
        errstr[0] = '\0';
        FD_CHECK(fd_codec_add_writer(codec, 50, kind, src_path(rel), errstr,
                                     sizeof(errstr)) != 0);
        if (!strstr(errstr, field)) {
                fprintf(stderr, "errstr for %s lacks %s: %s\n", rel, field,
                        errstr);
                FD_CHECK(0);
        }
}

static void test_incompatible_writer(void)
{
        fd_codec *codec = codec_std();
        char bad[512];

        FD_CHECK(codec != NULL);
        if (!codec)
                return;
        expect_rejected(codec, "tests/unit/data/lead_event_bad_time.avsc",
                        FD_EV_LEAD, "'occurred_at'");
        expect_rejected(codec, "tests/unit/data/lead_event_micros.avsc",
                        FD_EV_LEAD, "timestamp-millis");
        expect_rejected(codec, "tests/unit/data/lead_event_no_type.avsc",
                        FD_EV_LEAD, "'type'");
        /* A LeadEvent schema registered for the CRM kind lacks 'stage'. */
        expect_rejected(codec, "schemas/lead_event.avsc", FD_EV_CRM, "'stage'");
        expect_rejected(codec, "tests/unit/data/no_such_file.avsc", FD_EV_LEAD,
                        "cannot open");
        expect_rejected(codec, "tests/unit/fdtest.h", FD_EV_LEAD,
                        "not valid JSON");
        /* The failed id stays free. */
        FD_CHECK_INT(fd_codec_add_writer(codec, 50, FD_EV_LEAD,
                                         src_path("schemas/lead_event.avsc"),
                                         errstr, sizeof(errstr)),
                     0);
        /* A missing schema directory fails codec creation with a reason. */
        FD_CHECK(fd_codec_new("/nonexistent-dir", bad, sizeof(bad)) == NULL);
        FD_CHECK(strstr(bad, "lead_event.avsc") != NULL);
        fd_codec_destroy(codec);
}

static fd_decode_err decode_event(fd_codec *codec, const fd_event *in,
                                  const fd_decode_limits *lim, fd_event *out)
{
        fd_buf b = {0};
        fd_decode_err err;

        encode(codec, in->kind == FD_EV_LEAD ? ID_LEAD : ID_CRM, in, &b);
        err = fd_codec_decode(codec, in->kind, b.data, b.len, lim, out, errstr,
                              sizeof(errstr));
        fd_buf_free(&b);
        if (err != FD_DECODE_OK)
                FD_CHECK_INT(out->kind, FD_EV_NONE);
        return err;
}

/* A tenant id may only hold letters, digits, '.', '_' and '-'. */
static void test_tenant_chars(void)
{
        static const char *const ok[] = {"acme", "Acme-EU.2_x", "0", "-._"};
        static const char *const bad[] = {"a}b",         "a:b", "{a", "a b",
                                          "caf\xc3\xa9", "a/b", "a*"};
        char err[256];
        fd_event ev = sample_lead();

        for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
                ev.u.lead.tenant_id = (char *)ok[i];
                FD_CHECK_INT(fd_validate_limits(&ev, err, sizeof(err)), 0);
        }
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                ev.u.lead.tenant_id = (char *)bad[i];
                err[0] = '\0';
                FD_CHECK_INT(fd_validate_limits(&ev, err, sizeof(err)), -1);
                FD_CHECK(strstr(err, "may only contain letters") != NULL);
        }
}

static void test_validation(void)
{
        fd_codec *codec = codec_std();
        fd_event in, out = {0};
        fd_decode_limits tiny = limits;

        FD_CHECK(codec != NULL);
        if (!codec)
                return;
        in = sample_lead();
        in.u.lead.event_id = "";
        FD_CHECK_INT(decode_event(codec, &in, &limits, &out),
                     FD_DECODE_MISSING_FIELD);
        FD_CHECK(strstr(errstr, "'event_id'") != NULL);
        in = sample_lead();
        in.u.lead.tenant_id = NULL;
        FD_CHECK_INT(decode_event(codec, &in, &limits, &out),
                     FD_DECODE_MISSING_FIELD);
        in = sample_lead();
        in.u.lead.lead_id = NULL;
        in.u.lead.anonymous_id = "";
        FD_CHECK_INT(decode_event(codec, &in, &limits, &out),
                     FD_DECODE_MISSING_FIELD);
        FD_CHECK(strstr(errstr, "anonymous_id") != NULL);
        in = sample_lead();
        in.u.lead.type = "";
        FD_CHECK_INT(decode_event(codec, &in, &limits, &out),
                     FD_DECODE_MISSING_FIELD);
        /* Timestamps in 1970 and 2100 against the limits. */
        in = sample_lead();
        in.u.lead.occurred_at = 86400000LL; /* 1970-01-02 */
        FD_CHECK_INT(decode_event(codec, &in, &limits, &out),
                     FD_DECODE_INVALID_FIELD);
        FD_CHECK(strstr(errstr, "1970-01-02") != NULL);
        FD_CHECK_INT(decode_event(codec, &in, NULL, &out), FD_DECODE_OK);
        tiny.max_bytes = 0; /* 0 / 0..0: no size and no time checks */
        tiny.min_event_time_ms = tiny.max_event_time_ms = 0;
        FD_CHECK_INT(decode_event(codec, &in, &tiny, &out), FD_DECODE_OK);
        tiny = limits;
        in.u.lead.occurred_at = 4102444800000LL; /* 2100-01-01 */
        FD_CHECK_INT(decode_event(codec, &in, &limits, &out),
                     FD_DECODE_INVALID_FIELD);
        in.u.lead.occurred_at = INT64_MIN;
        FD_CHECK_INT(decode_event(codec, &in, &limits, &out),
                     FD_DECODE_INVALID_FIELD);
        in.u.lead.occurred_at = limits.max_event_time_ms;
        FD_CHECK_INT(decode_event(codec, &in, &limits, &out), FD_DECODE_OK);
        /* CRM: unknown stage, negative amount, missing lead. */
        in = sample_crm();
        in.u.crm.stage = "won";
        FD_CHECK_INT(decode_event(codec, &in, &limits, &out),
                     FD_DECODE_INVALID_FIELD);
        FD_CHECK(strstr(errstr, "'won'") && strstr(errstr, "closed_won"));
        in.u.crm.stage = "";
        FD_CHECK_INT(decode_event(codec, &in, &limits, &out),
                     FD_DECODE_MISSING_FIELD);
        in = sample_crm();
        in.u.crm.amount_minor = -1;
        FD_CHECK_INT(decode_event(codec, &in, &limits, &out),
                     FD_DECODE_INVALID_FIELD);
        FD_CHECK(strstr(errstr, "'amount_minor'") != NULL);
        in.u.crm.amount_minor = 0;
        FD_CHECK_INT(decode_event(codec, &in, &limits, &out), FD_DECODE_OK);
        in = sample_crm();
        in.u.crm.lead_id = "";
        FD_CHECK_INT(decode_event(codec, &in, &limits, &out),
                     FD_DECODE_MISSING_FIELD);
        /* Oversized before any parsing. */
        tiny.max_bytes = 20;
        in = sample_crm();
        FD_CHECK_INT(decode_event(codec, &in, &tiny, &out),
                     FD_DECODE_OVERSIZED);
        FD_CHECK_STR(fd_decode_err_name(FD_DECODE_OVERSIZED), "oversized");
        FD_CHECK_STR(fd_decode_err_name(FD_DECODE_UNKNOWN_SCHEMA),
                     "unknown-schema-id");
        FD_CHECK_STR(fd_decode_err_name(FD_DECODE_BAD_MAGIC), "bad-magic-byte");
        FD_CHECK_STR(fd_decode_err_name(FD_DECODE_INCOMPATIBLE),
                     "incompatible-schema");
        FD_CHECK_STR(fd_decode_err_name(FD_DECODE_MISSING_FIELD),
                     "missing-field");
        FD_CHECK_STR(fd_decode_err_name(FD_DECODE_INVALID_FIELD),
                     "invalid-field");
        FD_CHECK_STR(fd_decode_err_name(FD_DECODE_UNDECODABLE), "undecodable");
        fd_event_clear(&out);
        fd_codec_destroy(codec);
}

/* A decode result must be an error with out cleared, or a valid event. */
static int outcome_ok(fd_decode_err err, const fd_event *out)
{
        if (err != FD_DECODE_OK)
                return out->kind == FD_EV_NONE;
        if (out->kind == FD_EV_LEAD)
                return out->u.lead.event_id && out->u.lead.event_id[0] &&
                       out->u.lead.tenant_id && out->u.lead.type &&
                       (out->u.lead.lead_id || out->u.lead.anonymous_id);
        return out->kind == FD_EV_CRM && out->u.crm.event_id &&
               out->u.crm.lead_id && out->u.crm.stage &&
               (!out->u.crm.has_amount || out->u.crm.amount_minor >= 0);
}

static uint64_t prng_state = 0x9e3779b97f4a7c15ULL;

static uint32_t prng(void)
{
        prng_state ^= prng_state << 13;
        prng_state ^= prng_state >> 7;
        prng_state ^= prng_state << 17;
        return (uint32_t)(prng_state >> 16);
}

static void test_hostile_crafted(void)
{
        fd_codec *codec = codec_std();
        fd_event in = sample_lead(), out = {0};
        fd_buf b = {0}, t = {0};
        /* Confluent id 1, then event_id with a length of 2^62 / -1 / NUL. */
        static const char huge[] = {
                0,          0,          0,          0,          1,
                (char)0xfe, (char)0xff, (char)0xff, (char)0xff, (char)0xff,
                (char)0xff, (char)0xff, (char)0xff, (char)0x7f, 'a'};
        static const char neg[] = {0, 0, 0, 0, 1, 0x01, 'a', 'b'};
        static const char longvar[] = {
                0,          0,          0,          0,          1,
                (char)0x80, (char)0x80, (char)0x80, (char)0x80, (char)0x80,
                (char)0x80, (char)0x80, (char)0x80, (char)0x80, (char)0x80,
                (char)0x80, 1};
        size_t n;

        FD_CHECK(codec != NULL);
        if (!codec)
                return;
        FD_CHECK_INT(fd_codec_decode(codec, FD_EV_LEAD, "", 0, &limits, &out,
                                     errstr, sizeof(errstr)),
                     FD_DECODE_UNDECODABLE);
        FD_CHECK_INT(fd_codec_decode(codec, FD_EV_LEAD, huge, sizeof(huge),
                                     &limits, &out, errstr, sizeof(errstr)),
                     FD_DECODE_UNDECODABLE);
        FD_CHECK_INT(fd_codec_decode(codec, FD_EV_LEAD, neg, sizeof(neg),
                                     &limits, &out, errstr, sizeof(errstr)),
                     FD_DECODE_UNDECODABLE);
        FD_CHECK_INT(fd_codec_decode(codec, FD_EV_LEAD, longvar,
                                     sizeof(longvar), &limits, &out, errstr,
                                     sizeof(errstr)),
                     FD_DECODE_UNDECODABLE);
        /* Every truncation of a valid value fails cleanly. */
        encode(codec, ID_LEAD, &in, &b);
        for (n = 0; n < b.len; n++) {
                fd_buf_reset(&t);
                fd_buf_append(&t, b.data, n);
                FD_CHECK(decode(codec, FD_EV_LEAD, &t, &out) != FD_DECODE_OK);
                FD_CHECK_INT(out.kind, FD_EV_NONE);
        }
        /* Trailing garbage is rejected. */
        fd_buf_append(&b, "\x02", 1);
        FD_CHECK_INT(decode(codec, FD_EV_LEAD, &b, &out),
                     FD_DECODE_UNDECODABLE);
        FD_CHECK(strstr(errstr, "trailing") != NULL);
        /* A NUL byte inside a string. */
        in.u.lead.utm_term = "ab";
        encode(codec, ID_LEAD, &in, &b);
        for (n = 0; n + 1 < b.len; n++)
                if (b.data[n] == 'a' && b.data[n + 1] == 'b')
                        break;
        FD_CHECK(n + 1 < b.len);
        b.data[n + 1] = '\0';
        FD_CHECK_INT(decode(codec, FD_EV_LEAD, &b, &out),
                     FD_DECODE_INVALID_FIELD);
        FD_CHECK(strstr(errstr, "'utm_term'") != NULL);
        /* A NUL at every position of strings of 1 to 40 bytes, across the
         * sizes short copies and checks treat differently. */
        for (size_t len = 1; len <= 40; len++) {
                char term[41];
                memset(term, '~', len);
                term[len] = '\0';
                in.u.lead.utm_term = term;
                encode(codec, ID_LEAD, &in, &b);
                FD_CHECK_INT(decode(codec, FD_EV_LEAD, &b, &out), FD_DECODE_OK);
                FD_CHECK_STR(out.u.lead.utm_term, term);
                fd_event_clear(&out);
                size_t at = 0;
                while (at + len <= b.len &&
                       !(memcmp(b.data + at, term, len) == 0))
                        at++;
                FD_CHECK(at + len <= b.len);
                for (size_t k = 0; k < len && at + len <= b.len; k++) {
                        fd_buf_reset(&t);
                        fd_buf_append(&t, b.data, b.len);
                        t.data[at + k] = '\0';
                        FD_CHECK_INT(decode(codec, FD_EV_LEAD, &t, &out),
                                     FD_DECODE_INVALID_FIELD);
                }
        }
        /* Invalid UTF-8 is accepted as bytes, NUL-terminated. */
        in.u.lead.utm_term = "\xff\xfe";
        encode(codec, ID_LEAD, &in, &b);
        FD_CHECK_INT(decode(codec, FD_EV_LEAD, &b, &out), FD_DECODE_OK);
        FD_CHECK_STR(out.u.lead.utm_term, "\xff\xfe");
        fd_event_clear(&out);
        fd_buf_free(&b);
        fd_buf_free(&t);
        fd_codec_destroy(codec);
}

static void test_hostile_random(void)
{
        fd_codec *codec = codec_std();
        fd_event lead = sample_lead(), crm = sample_crm(), out = {0};
        fd_buf valid[2] = {{0}, {0}}, t = {0};
        int i, bad = 0, decoded = 0;

        FD_CHECK(codec != NULL);
        if (!codec)
                return;
        FD_CHECK_INT(fd_codec_set_plain_writer(
                             codec, FD_EV_CRM,
                             src_path("schemas/crm_stage_event.avsc"), errstr,
                             sizeof(errstr)),
                     0);
        encode(codec, ID_LEAD, &lead, &valid[0]);
        encode(codec, ID_CRM, &crm, &valid[1]);
        for (i = 0; i < 6000; i++) {
                fd_event_kind kind = i % 2 ? FD_EV_CRM : FD_EV_LEAD;
                size_t n, j;
                fd_decode_err err;

                fd_buf_reset(&t);
                if (i < 2000) { /* random bytes, often with a valid header */
                        n = prng() % 96;
                        for (j = 0; j < n; j++) {
                                char c = (char)prng();

                                fd_buf_append(&t, &c, 1);
                        }
                        if (n >= 5 && prng() % 2)
                                memcpy(t.data,
                                       kind == FD_EV_LEAD ? "\0\0\0\0\1"
                                                          : "\0\0\0\0\2",
                                       5);
                } else { /* mutations and truncations of a valid value */
                        const fd_buf *v = &valid[kind == FD_EV_CRM];
                        int flips = 1 + (int)(prng() % 4);

                        fd_buf_append(&t, v->data, v->len);
                        while (flips--)
                                t.data[5 + prng() % (t.len - 5)] = (char)prng();
                        if (prng() % 3 == 0)
                                t.len = 5 + prng() % (t.len - 5);
                }
                err = decode(codec, kind, &t, &out);
                if (!outcome_ok(err, &out))
                        bad++;
                decoded += err == FD_DECODE_OK;
                fd_event_clear(&out);
        }
        FD_CHECK_INT(bad, 0);
        FD_CHECK(decoded > 0); /* some mutations stay valid */
        fd_buf_free(&valid[0]);
        fd_buf_free(&valid[1]);
        fd_buf_free(&t);
        fd_codec_destroy(codec);
}

/* ---- the one-pass reader against avro-c's (fd_codec_use_avro_reader) ---- */

static void put_long(fd_buf *b, int64_t v)
{
        uint64_t z = ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);

        do {
                char c = (char)((z & 0x7f) | (z > 0x7f ? 0x80 : 0));

                fd_buf_append(b, &c, 1);
                z >>= 7;
        } while (z);
}

static void put_str(fd_buf *b, const char *s)
{
        put_long(b, (int64_t)strlen(s));
        fd_buf_append(b, s, strlen(s));
}

/* A framed LeadEvent (id 1) up to its attributes map, which the caller
 * appends. */
static void lead_head(fd_buf *b)
{
        int i;

        fd_buf_reset(b);
        fd_buf_append(b, "\0\0\0\0\1", 5);
        put_str(b, "e-1");
        put_str(b, "acme");
        put_long(b, 1767225600000LL);
        put_long(b, 1); /* lead_id: string */
        put_str(b, "L1");
        put_long(b, 0); /* anonymous_id: null */
        put_str(b, "page_view");
        put_long(b, 1); /* channel */
        put_str(b, "paid_search");
        for (i = 0; i < 6; i++) /* campaign, utm_*: null */
                put_long(b, 0);
}

/* 1 when the lengths ev keeps are its strings' (every reader keeps them). */
static int kept_lens_ok(const fd_event *ev)
{
#define KEPT(s)      ((s) && strlen(s) <= UINT16_MAX ? strlen(s) : 0)
#define LEN_OK(e, f) ((e)->len.f == KEPT((e)->f))
        const fd_lead_event *le = &ev->u.lead;
        const fd_crm_event *ce = &ev->u.crm;
        if (ev->kind == FD_EV_CRM)
                return LEN_OK(ce, event_id) && LEN_OK(ce, tenant_id) &&
                       LEN_OK(ce, lead_id) && LEN_OK(ce, stage);
        return LEN_OK(le, event_id) && LEN_OK(le, tenant_id) &&
               LEN_OK(le, lead_id) && LEN_OK(le, anonymous_id) &&
               LEN_OK(le, type) && LEN_OK(le, channel) && LEN_OK(le, campaign);
#undef LEN_OK
#undef KEPT
}

static int same_event(const fd_event *a, const fd_event *b)
{
        const fd_lead_event *x = &a->u.lead, *y = &b->u.lead;
        size_t i;

        if (a->kind != b->kind || !kept_lens_ok(a) || !kept_lens_ok(b))
                return 0;
        if (a->kind != FD_EV_LEAD) /* CRM: compare through a re-encoding */
                return a->u.crm.has_amount == b->u.crm.has_amount &&
                       a->u.crm.amount_minor == b->u.crm.amount_minor &&
                       strcmp(a->u.crm.event_id, b->u.crm.event_id) == 0 &&
                       strcmp(a->u.crm.stage, b->u.crm.stage) == 0 &&
                       a->u.crm.occurred_at == b->u.crm.occurred_at &&
                       !(a->u.crm.currency ? !b->u.crm.currency ||
                                                     strcmp(a->u.crm.currency,
                                                            b->u.crm.currency)
                                           : !!b->u.crm.currency);
        if (strcmp(x->event_id, y->event_id) || strcmp(x->type, y->type) ||
            x->occurred_at != y->occurred_at || x->attr_cnt != y->attr_cnt ||
            !x->channel != !y->channel || !x->lead_id != !y->lead_id)
                return 0;
        for (i = 0; i < x->attr_cnt; i++)
                if (strcmp(x->attrs[i].key, y->attrs[i].key) ||
                    strcmp(x->attrs[i].value, y->attrs[i].value))
                        return 0;
        return 1;
}

/* Decodes b with both readers: same reason, same event. */
static void both_readers(fd_codec *direct, fd_codec *ref, fd_event_kind kind,
                         const fd_buf *b, fd_decode_err want, int *differ)
{
        fd_event x = {0}, y = {0};
        fd_decode_err ex = decode(direct, kind, b, &x);
        fd_decode_err ey = decode(ref, kind, b, &y);

        if (want != 1)
                FD_CHECK_INT(ex, want);
        if (ex != ey || (ex == FD_DECODE_OK && !same_event(&x, &y)))
                (*differ)++;
        fd_event_clear(&x);
        fd_event_clear(&y);
}

/* ---- the direct writer against avro-c's (fd_codec_use_avro_writer) ---- */

static uint64_t wr_next(void)
{
        return (uint64_t)prng() << 32 | prng();
}

/* A string of 0-199 bytes (multi-byte lengths), "" or NULL. */
static const char *wr_str(char *buf, int may_null)
{
        size_t n = wr_next() % 4 == 0 ? 0 : wr_next() % 200;
        if (may_null && wr_next() % 5 == 0)
                return NULL;
        for (size_t i = 0; i < n; i++)
                buf[i] = (char)('a' + wr_next() % 26);
        buf[n] = '\0';
        return buf;
}

/* Numbers near the edges of int and long (negative, over 32 bits). */
static int64_t wr_num(void)
{
        switch (wr_next() % 5) {
        case 0:
                return (int64_t)(wr_next() % 100);
        case 1:
                return -(int64_t)(wr_next() % 100000);
        case 2:
                return (int64_t)wr_next();
        case 3:
                return wr_next() % 2 ? INT64_MIN : INT64_MAX;
        default:
                return (int64_t)(wr_next() % 4000000000ULL) - 2000000000;
        }
}

static int same_bytes(const fd_buf *a, const fd_buf *b)
{
        return a->len == b->len && memcmp(a->data, b->data, a->len) == 0;
}

/* Promotions and attributions (0-40 credits, with and without campaigns)
 * encode to the same bytes as avro-c's generic values give. */
static void test_direct_writer(void)
{
        fd_codec *direct = codec_std(), *ref = codec_std();
        char s[8][256];
        fd_credit credits[40];
        int differ = 0;

        FD_CHECK(direct && ref);
        if (!direct || !ref)
                goto out;
        fd_codec_use_avro_writer(ref, 1);
        for (int it = 0; it < 2000; it++) {
                fd_buf x = {0}, y = {0};
                fd_promotion p = {wr_str(s[0], 0),   wr_str(s[1], 0),
                                  wr_str(s[2], 0),   wr_str(s[3], 0),
                                  wr_str(s[4], 1),   (int)(wr_next() % 2),
                                  (int32_t)wr_num(), wr_num(),
                                  wr_str(s[5], 1),   (int32_t)wr_num(),
                                  (int32_t)wr_num()};
                FD_CHECK_INT(fd_codec_encode_promotion(direct, it, &p, &x,
                                                       errstr, sizeof(errstr)),
                             0);
                FD_CHECK_INT(fd_codec_encode_promotion(ref, it, &p, &y, errstr,
                                                       sizeof(errstr)),
                             0);
                differ += !same_bytes(&x, &y);
                fd_buf_reset(&x);
                fd_buf_reset(&y);
                size_t n = wr_next() % 41;
                for (size_t i = 0; i < n; i++)
                        credits[i] =
                                (fd_credit){i % 2 ? "linear" : "time_decay",
                                            i % 3 ? "email" : "paid_search",
                                            i % 4 ? NULL : "spring-sale",
                                            i % 2 ? "ev-1" : "",
                                            wr_num(),
                                            wr_num()};
                fd_attribution_out a = {wr_str(s[0], 0), wr_str(s[1], 0),
                                        wr_str(s[2], 0), wr_str(s[3], 1),
                                        wr_num(),        wr_str(s[4], 0),
                                        wr_num(),        (int)(wr_next() % 90),
                                        credits,         n};
                FD_CHECK_INT(fd_codec_encode_attribution(direct, 77, &a, &x,
                                                         errstr,
                                                         sizeof(errstr)),
                             0);
                FD_CHECK_INT(fd_codec_encode_attribution(
                                     ref, 77, &a, &y, errstr, sizeof(errstr)),
                             0);
                differ += !same_bytes(&x, &y);
                fd_buf_free(&x);
                fd_buf_free(&y);
        }
        FD_CHECK_INT(differ, 0);
out:
        fd_codec_destroy(direct);
        fd_codec_destroy(ref);
}

static void test_direct_reader(void)
{
        fd_codec *direct = codec_std(), *ref = codec_std();
        fd_event lead = sample_lead(), crm = sample_crm(), out = {0};
        fd_buf b = {0}, v = {0};
        char key[16];
        int i, differ = 0;

        FD_CHECK(direct && ref);
        if (!direct || !ref)
                goto out;
        fd_codec_use_avro_reader(ref, 1);
        /* A repeated key: first position, last value (avro-c's map rule);
         * the second block has a negative count and a byte size. */
        lead_head(&b);
        put_long(&b, 2);
        put_str(&b, "persona");
        put_str(&b, "first");
        put_str(&b, "size");
        put_str(&b, "10");
        put_long(&b, -1);
        put_long(&b, 9);
        put_str(&b, "persona");
        put_str(&b, "cmo");
        put_long(&b, 0);
        both_readers(direct, ref, FD_EV_LEAD, &b, FD_DECODE_OK, &differ);
        FD_CHECK_INT(decode(direct, FD_EV_LEAD, &b, &out), FD_DECODE_OK);
        FD_CHECK_INT(out.u.lead.attr_cnt, 2);
        FD_CHECK_STR(out.u.lead.attrs[0].key, "persona");
        FD_CHECK_STR(out.u.lead.attrs[0].value, "cmo");
        FD_CHECK_STR(out.u.lead.attrs[1].value, "10");
        FD_CHECK_STR(out.u.lead.channel, "paid_search");
        FD_CHECK(out.u.lead.anonymous_id == NULL);
        FD_CHECK(out.arena != NULL); /* read in one pass */
        fd_event_clear(&out);
        /* A map larger than the one-pass reader takes: avro-c reads it. */
        lead_head(&b);
        put_long(&b, 70);
        for (i = 0; i < 70; i++) {
                snprintf(key, sizeof(key), "k%d", i);
                put_str(&b, key);
                put_str(&b, i == 69 ? "last" : "");
        }
        put_long(&b, 0);
        both_readers(direct, ref, FD_EV_LEAD, &b, FD_DECODE_OK, &differ);
        FD_CHECK_INT(decode(direct, FD_EV_LEAD, &b, &out), FD_DECODE_OK);
        FD_CHECK_INT(out.u.lead.attr_cnt, 70);
        FD_CHECK_STR(out.u.lead.attrs[69].value, "last");
        FD_CHECK(out.arena == NULL);
        fd_event_clear(&out);
        /* A NUL byte in an attribute value is refused by both. */
        lead_head(&b);
        put_long(&b, 1);
        put_str(&b, "persona");
        put_long(&b, 2);
        fd_buf_append(&b, "a\0", 2);
        put_long(&b, 0);
        both_readers(direct, ref, FD_EV_LEAD, &b, FD_DECODE_INVALID_FIELD,
                     &differ);
        /* Mutations of valid values: both readers agree on every one. */
        for (i = 0; i < 4000; i++) {
                fd_event_kind kind = i % 2 ? FD_EV_CRM : FD_EV_LEAD;
                int flips = 1 + (int)(prng() % 3);

                encode(direct, kind == FD_EV_LEAD ? ID_LEAD : ID_CRM,
                       kind == FD_EV_LEAD ? &lead : &crm, &v);
                while (flips--)
                        v.data[5 + prng() % (v.len - 5)] = (char)prng();
                both_readers(direct, ref, kind, &v, 1, &differ);
        }
        FD_CHECK_INT(differ, 0);
out:
        fd_buf_free(&b);
        fd_buf_free(&v);
        fd_codec_destroy(direct);
        fd_codec_destroy(ref);
}

int main(void)
{
        FD_RUN(test_lead_round_trip);
        FD_RUN(test_crm_round_trip);
        FD_RUN(test_promotion_encode);
        FD_RUN(test_attribution_encode);
        FD_RUN(test_direct_writer);
        FD_RUN(test_confluent_routing);
        FD_RUN(test_plain_avro);
        FD_RUN(test_evolution_extra_fields);
        FD_RUN(test_evolution_missing_fields);
        FD_RUN(test_incompatible_writer);
        FD_RUN(test_validation);
        FD_RUN(test_tenant_chars);
        FD_RUN(test_hostile_crafted);
        FD_RUN(test_hostile_random);
        FD_RUN(test_direct_reader);
        return FD_DONE();
}
