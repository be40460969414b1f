/* Writes the decode seed corpus (tests/fuzz/corpus/decode): valid and
 * near-valid LeadEvent / CrmStageEvent values, Confluent framed with the
 * reader schemas (ids 1, 2) and plain, values of the evolved test writers
 * (ids 3..5) and a few malformed framings. Each file starts with the
 * selector byte of fuzz_decode.c (bit 0: crm, bit 1: no limits).
 *
 * Usage: fuzz_gen_corpus OUT_DIR   (run from the source tree or with
 * FUNNELD_SOURCE_DIR set). The committed corpus was made with it. */
#include <avro.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "funneld/codec.h"

#define SEL_CRM       1
#define SEL_NO_LIMITS 2

static const char *out_dir;
static const char *src_dir = ".";
static int written;

static void put_file(const char *name, int sel, const void *body, size_t len)
{
        char path[4096];
        FILE *fp;

        snprintf(path, sizeof(path), "%s/%s", out_dir, name);
        fp = fopen(path, "wb");
        if (!fp || fputc(sel, fp) == EOF ||
            (len && fwrite(body, 1, len, fp) != len) || fclose(fp) != 0) {
                fprintf(stderr, "gen_corpus: cannot write %s\n", path);
                exit(1);
        }
        written++;
}

/* Writes ev framed with its id and plain (the body without the header). */
static void put_event(fd_codec *codec, const char *name, int sel,
                      const fd_event *ev)
{
        char err[512], fname[256];
        fd_buf buf = {0};
        int32_t id = ev->kind == FD_EV_LEAD ? 1 : 2;

        if (fd_codec_encode_event(codec, id, ev, &buf, err, sizeof(err)) != 0) {
                fprintf(stderr, "gen_corpus: encode %s: %s\n", name, err);
                exit(1);
        }
        snprintf(fname, sizeof(fname), "%s-framed", name);
        put_file(fname, sel, buf.data, buf.len);
        snprintf(fname, sizeof(fname), "%s-plain", name);
        put_file(fname, sel, buf.data + 5, buf.len - 5);
        fd_buf_free(&buf);
}

static fd_attr attrs[] = {
        {"job_title", "VP Marketing"},
        {"company_size", "201-500"},
        {"country", "DE"},
};

static fd_event lead(const char *lead_id, const char *anon, const char *type)
{
        fd_event ev = {0};

        ev.kind = FD_EV_LEAD;
        ev.u.lead.event_id = "ev-1";
        ev.u.lead.tenant_id = "acme";
        ev.u.lead.occurred_at = 1700000000123LL;
        ev.u.lead.lead_id = (char *)lead_id;
        ev.u.lead.anonymous_id = (char *)anon;
        ev.u.lead.type = (char *)type;
        return ev;
}

static void gen_leads(fd_codec *codec)
{
        fd_event ev = lead("lead-42", "anon-7", "form_submit");
        fd_lead_event *le = &ev.u.lead;

        le->channel = "paid_search";
        le->campaign = "q4-brand";
        le->utm_source = "google";
        le->utm_medium = "cpc";
        le->utm_campaign = "brand";
        le->utm_term = "funnel analytics";
        le->utm_content = "ad-3";
        le->attrs = attrs;
        le->attr_cnt = 3;
        put_event(codec, "lead-full", 0, &ev);
        ev = lead("lead-1", NULL, "page_view");
        put_event(codec, "lead-min", 0, &ev);
        ev = lead(NULL, "anon-1", "page_view");
        ev.u.lead.channel = "organic_search";
        put_event(codec, "lead-anon", 0, &ev);
        ev = lead("lead-1", "", "identify");
        ev.u.lead.campaign = "";
        put_event(codec, "lead-empty-opt", 0, &ev);
        ev = lead("l\xc3\xa9"
                  "ad-\xe2\x82\xac",
                  NULL, "demo_request");
        put_event(codec, "lead-utf8", 0, &ev);
        ev = lead("lead-1", NULL, "page_view");
        ev.u.lead.occurred_at = -5;
        put_event(codec, "lead-old", 0, &ev);
        put_event(codec, "lead-old-nolimits", SEL_NO_LIMITS, &ev);
        ev = lead(NULL, NULL, "page_view");
        put_event(codec, "lead-no-ids", 0, &ev);
        ev = lead("lead-1", NULL, "");
        put_event(codec, "lead-no-type", 0, &ev);
}

static fd_event crm(const char *stage, int has_amount, int64_t amount)
{
        fd_event ev = {0};

        ev.kind = FD_EV_CRM;
        ev.u.crm.event_id = "crm-1";
        ev.u.crm.tenant_id = "acme";
        ev.u.crm.occurred_at = 1700000500000LL;
        ev.u.crm.lead_id = "lead-42";
        ev.u.crm.stage = (char *)stage;
        ev.u.crm.has_amount = has_amount;
        ev.u.crm.amount_minor = amount;
        return ev;
}

static void gen_crms(fd_codec *codec)
{
        static const char *const stages[] = {
                "lead",        "mql",         "sql",
                "opportunity", "closed_lost", "recycled",
                "nurture",     "Closed_Won",  "promoted"};
        fd_event ev = crm("closed_won", 1, 1234567);
        char name[64];
        size_t i;

        ev.u.crm.opportunity_id = "opp-9";
        ev.u.crm.currency = "EUR";
        ev.u.crm.owner = "rep@acme.test";
        put_event(codec, "crm-won-full", SEL_CRM, &ev);
        for (i = 0; i < sizeof(stages) / sizeof(*stages); i++) {
                ev = crm(stages[i], 0, 0);
                snprintf(name, sizeof(name), "crm-%s", stages[i]);
                put_event(codec, name, SEL_CRM, &ev);
        }
        ev = crm("opportunity", 1, -1);
        put_event(codec, "crm-neg-amount", SEL_CRM, &ev);
        ev = crm("mql", 0, 0);
        ev.u.crm.occurred_at = 4200000000000LL;
        put_event(codec, "crm-future-nolimits", SEL_CRM | SEL_NO_LIMITS, &ev);
}

/* Fills v (of schema s) with a plausible value; field names steer strings. */
static int fill(avro_value_t *v, const char *field)
{
        avro_value_t branch, item;
        size_t i, n;

        switch (avro_value_get_type(v)) {
        case AVRO_STRING:
                if (field && strcmp(field, "stage") == 0)
                        return avro_value_set_string(v, "sql");
                return avro_value_set_string(v, field ? field : "v");
        case AVRO_BYTES:
                return avro_value_set_bytes(v, "EUR", 3);
        case AVRO_INT32:
                return avro_value_set_int(v, 1234);
        case AVRO_INT64:
                return avro_value_set_long(v, 1700000000000LL);
        case AVRO_NULL:
                return avro_value_set_null(v);
        case AVRO_UNION:
                return avro_value_set_branch(v, 1, &branch) ||
                       fill(&branch, field);
        case AVRO_MAP:
                return avro_value_add(v, "persona", &item, NULL, NULL) ||
                       fill(&item, "marketing_leader");
        case AVRO_ARRAY:
                return avro_value_append(v, &item, NULL) || fill(&item, "tag");
        case AVRO_RECORD:
                if (avro_value_get_size(v, &n))
                        return -1;
                for (i = 0; i < n; i++) {
                        const char *name = NULL;

                        if (avro_value_get_by_index(v, i, &item, &name) ||
                            fill(&item, name))
                                return -1;
                }
                return 0;
        default:
                return -1;
        }
}

/* Writes a value of writer schema rel, framed with id. */
static void gen_writer(const char *name, int sel, int32_t id, const char *rel)
{
        char path[4096], body[4096];
        avro_schema_t schema;
        avro_value_iface_t *iface;
        avro_value_t value;
        avro_writer_t w;
        char *text;
        long len;
        FILE *fp;

        snprintf(path, sizeof(path), "%s/%s", src_dir, rel);
        fp = fopen(path, "rb");
        if (!fp || fseek(fp, 0, SEEK_END) || (len = ftell(fp)) < 0 ||
            fseek(fp, 0, SEEK_SET) || !(text = calloc(1, (size_t)len + 1)) ||
            fread(text, 1, (size_t)len, fp) != (size_t)len) {
                fprintf(stderr, "gen_corpus: cannot read %s\n", path);
                exit(1);
        }
        fclose(fp);
        if (avro_schema_from_json_length(text, (size_t)len, &schema) ||
            !(iface = avro_generic_class_from_schema(schema)) ||
            avro_generic_value_new(iface, &value) || fill(&value, NULL)) {
                fprintf(stderr, "gen_corpus: %s: %s\n", path, avro_strerror());
                exit(1);
        }
        body[0] = 0;
        body[1] = (char)(id >> 24);
        body[2] = (char)(id >> 16);
        body[3] = (char)(id >> 8);
        body[4] = (char)id;
        w = avro_writer_memory(body + 5, sizeof(body) - 5);
        if (avro_value_write(w, &value)) {
                fprintf(stderr, "gen_corpus: write %s: %s\n", path,
                        avro_strerror());
                exit(1);
        }
        put_file(name, sel, body, 5 + (size_t)avro_writer_tell(w));
        avro_writer_free(w);
        avro_value_decref(&value);
        avro_value_iface_decref(iface);
        avro_schema_decref(schema);
        free(text);
}

static void gen_malformed(void)
{
        static const unsigned char unknown_id[] = {0, 0, 0, 0, 99, 2, 'x'};
        static const unsigned char short_hdr[] = {0, 0, 1};
        static const unsigned char wrong_kind[] = {0, 0, 0, 0, 2, 2, 'x'};
        static const unsigned char huge_len[] = {0,    0,    0,    0,   1,
                                                 0xfe, 0xff, 0xff, 0x7f};

        put_file("bad-empty", 0, "", 0);
        put_file("bad-unknown-id", 0, unknown_id, sizeof(unknown_id));
        put_file("bad-short-header", SEL_CRM, short_hdr, sizeof(short_hdr));
        put_file("bad-wrong-kind", 0, wrong_kind, sizeof(wrong_kind));
        put_file("bad-huge-length", 0, huge_len, sizeof(huge_len));
}

int main(int argc, char **argv)
{
        char schemas[4096], err[512];
        fd_codec *codec;

        if (argc != 2) {
                fprintf(stderr, "usage: %s OUT_DIR\n", argv[0]);
                return 2;
        }
        out_dir = argv[1];
        if (getenv("FUNNELD_SOURCE_DIR"))
                src_dir = getenv("FUNNELD_SOURCE_DIR");
        snprintf(schemas, sizeof(schemas), "%s/schemas", src_dir);
        codec = fd_codec_new(schemas, err, sizeof(err));
        if (!codec) {
                fprintf(stderr, "gen_corpus: %s\n", err);
                return 1;
        }
        gen_leads(codec);
        gen_crms(codec);
        gen_writer("w3-lead-v2-extra", 0, 3,
                   "tests/unit/data/lead_event_v2_extra.avsc");
        gen_writer("w4-lead-v0-minimal", 0, 4,
                   "tests/unit/data/lead_event_v0_minimal.avsc");
        gen_writer("w5-crm-v0-int-amount", SEL_CRM, 5,
                   "tests/unit/data/crm_stage_event_v0_int_amount.avsc");
        gen_malformed();
        fd_codec_destroy(codec);
        printf("gen_corpus: %d files in %s\n", written, out_dir);
        return 0;
}
