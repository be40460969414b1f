/* libFuzzer target for the Avro decoder (fd_codec_decode).
 *
 * Input: byte 0 is a selector, the rest is the Kafka value.
 *   bit 0: 0 = LeadEvent, 1 = CrmStageEvent
 *   bit 1: 1 = decode without limits (NULL), else the production-like limits
 *   bit 2: with the limits, the event's strings go in a slab (as the
 *          pipeline's are), not a block of their own
 * The codec is created once: Confluent ids 1 (LeadEvent) and 2
 * (CrmStageEvent) with the reader schemas, ids 3..5 with the evolved test
 * writers of tests/unit/data, and the reader schemas as plain writers.
 *
 * On success the event's invariants are checked, it is encoded again with
 * fd_codec_encode_event() and decoded again: the result must be equal. On
 * error errstr must be set and the event left zeroed. Every input is also
 * decoded by a second codec that reads bodies with avro-c
 * (fd_codec_use_avro_reader): the reason and the event must be the same as
 * the one-pass reader's. A broken invariant aborts, which libFuzzer reports
 * as a crash.
 *
 * tests/unit/test_fuzz_regressions.c includes this file with
 * FD_FUZZ_NO_ENTRY defined and calls fd_fuzz_decode_one() directly. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "funneld/codec.h"
#include "funneld/stage.h"
#include "slab.h"

#ifndef FD_FUZZ_SOURCE_DIR
#define FD_FUZZ_SOURCE_DIR "."
#endif

#ifndef FUZZ_ASSERT
#define FUZZ_ASSERT(cond)                                                      \
        do {                                                                   \
                if (!(cond)) {                                                 \
                        fprintf(stderr, "%s:%d: invariant broken: %s\n",       \
                                __FILE__, __LINE__, #cond);                    \
                        abort();                                               \
                }                                                              \
        } while (0)
#endif

/* Production-like limits: 64 KiB, occurred_at in 2000 .. 2099. */
static const fd_decode_limits fuzz_limits = {65536, 946684800000LL,
                                             4102444799999LL, NULL};

/* The slab some inputs decode into, as the pipeline does (small chunks:
 * a block often gets a chunk of its own or starts a new one). */
static fd_slab *fuzz_slab_shared;

/* Optional writers: registered when present; failures are ignored. */
static const struct {
        int32_t id;
        fd_event_kind kind;
        const char *rel;
} fuzz_extra_writers[] = {
        {3, FD_EV_LEAD, "tests/unit/data/lead_event_v2_extra.avsc"},
        {4, FD_EV_LEAD, "tests/unit/data/lead_event_v0_minimal.avsc"},
        {5, FD_EV_CRM, "tests/unit/data/crm_stage_event_v0_int_amount.avsc"},
};

static const char *fuzz_path(const char *rel, char *dst, size_t size)
{
        const char *dir = getenv("FUNNELD_SOURCE_DIR");

        snprintf(dst, size, "%s/%s", dir && dir[0] ? dir : FD_FUZZ_SOURCE_DIR,
                 rel);
        return dst;
}

/* The process-wide codecs (index 1 reads bodies with avro-c): created on
 * first use, owned by this file, freed only by fd_fuzz_decode_teardown()
 * (the fuzzer's leak check ignores reachable memory). */
static fd_codec *fuzz_codec_shared[2];

/* Returns a shared codec; aborts when the schemas cannot be loaded (the
 * run would be meaningless). */
static fd_codec *fuzz_codec(int avro_reader)
{
        fd_codec *codec = fuzz_codec_shared[avro_reader];
        char err[512], path[4096];
        size_t i;

        if (codec)
                return codec;
        codec = fd_codec_new(fuzz_path("schemas", path, sizeof(path)), err,
                             sizeof(err));
        if (!codec ||
            fd_codec_add_writer(
                    codec, 1, FD_EV_LEAD,
                    fuzz_path("schemas/lead_event.avsc", path, sizeof(path)),
                    err, sizeof(err)) != 0 ||
            fd_codec_add_writer(codec, 2, FD_EV_CRM,
                                fuzz_path("schemas/crm_stage_event.avsc", path,
                                          sizeof(path)),
                                err, sizeof(err)) != 0 ||
            fd_codec_set_plain_writer(
                    codec, FD_EV_LEAD,
                    fuzz_path("schemas/lead_event.avsc", path, sizeof(path)),
                    err, sizeof(err)) != 0 ||
            fd_codec_set_plain_writer(codec, FD_EV_CRM,
                                      fuzz_path("schemas/crm_stage_event.avsc",
                                                path, sizeof(path)),
                                      err, sizeof(err)) != 0) {
                fprintf(stderr,
                        "fuzz_decode: cannot set up the codec: %s; set "
                        "FUNNELD_SOURCE_DIR to the funneld source tree\n",
                        err);
                abort();
        }
        for (i = 0;
             i < sizeof(fuzz_extra_writers) / sizeof(*fuzz_extra_writers); i++)
                (void)fd_codec_add_writer(codec, fuzz_extra_writers[i].id,
                                          fuzz_extra_writers[i].kind,
                                          fuzz_path(fuzz_extra_writers[i].rel,
                                                    path, sizeof(path)),
                                          err, sizeof(err));
        fd_codec_use_avro_reader(codec, avro_reader);
        fuzz_codec_shared[avro_reader] = codec;
        return codec;
}

/* A required string: present, non-empty, NUL-terminated (ASan checks the
 * strlen). An optional one: NULL or non-empty ("" decodes to NULL). */
static void check_required(const char *s)
{
        FUZZ_ASSERT(s != NULL);
        FUZZ_ASSERT(strlen(s) > 0);
}

static void check_optional(const char *s)
{
        FUZZ_ASSERT(s == NULL || strlen(s) > 0);
}

static void check_time(int64_t at, const fd_decode_limits *limits)
{
        if (limits)
                FUZZ_ASSERT(at >= limits->min_event_time_ms &&
                            at <= limits->max_event_time_ms);
}

static void check_lead(const fd_lead_event *le, const fd_decode_limits *limits)
{
        size_t i;

        check_required(le->event_id);
        check_required(le->tenant_id);
        check_required(le->type);
        check_optional(le->lead_id);
        check_optional(le->anonymous_id);
        FUZZ_ASSERT(le->lead_id || le->anonymous_id);
        check_optional(le->channel);
        check_optional(le->campaign);
        check_optional(le->utm_source);
        check_optional(le->utm_medium);
        check_optional(le->utm_campaign);
        check_optional(le->utm_term);
        check_optional(le->utm_content);
        FUZZ_ASSERT(le->attr_cnt == 0 || le->attrs != NULL);
        for (i = 0; i < le->attr_cnt; i++) {
                FUZZ_ASSERT(le->attrs[i].key && le->attrs[i].value);
                (void)strlen(le->attrs[i].key);
                (void)strlen(le->attrs[i].value);
                FUZZ_ASSERT(fd_lead_event_attr(le, le->attrs[i].key) != NULL);
        }
        check_time(le->occurred_at, limits);
}

static void check_crm(const fd_crm_event *ce, const fd_decode_limits *limits)
{
        check_required(ce->event_id);
        check_required(ce->tenant_id);
        check_required(ce->lead_id);
        check_required(ce->stage);
        FUZZ_ASSERT(fd_stage_parse(ce->stage) != FD_STAGE_NONE ||
                    fd_stage_is_recycle(ce->stage));
        check_optional(ce->opportunity_id);
        check_optional(ce->currency);
        check_optional(ce->owner);
        FUZZ_ASSERT(ce->has_amount == 0 || ce->has_amount == 1);
        FUZZ_ASSERT(!ce->has_amount || ce->amount_minor >= 0);
        check_time(ce->occurred_at, limits);
}

static int str_eq(const char *a, const char *b)
{
        return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static int lead_eq(const fd_lead_event *a, const fd_lead_event *b)
{
        size_t i;

        if (!str_eq(a->event_id, b->event_id) ||
            !str_eq(a->tenant_id, b->tenant_id) ||
            a->occurred_at != b->occurred_at ||
            !str_eq(a->lead_id, b->lead_id) ||
            !str_eq(a->anonymous_id, b->anonymous_id) ||
            !str_eq(a->type, b->type) || !str_eq(a->channel, b->channel) ||
            !str_eq(a->campaign, b->campaign) ||
            !str_eq(a->utm_source, b->utm_source) ||
            !str_eq(a->utm_medium, b->utm_medium) ||
            !str_eq(a->utm_campaign, b->utm_campaign) ||
            !str_eq(a->utm_term, b->utm_term) ||
            !str_eq(a->utm_content, b->utm_content) ||
            a->attr_cnt != b->attr_cnt)
                return 0;
        for (i = 0; i < a->attr_cnt; i++)
                if (!str_eq(a->attrs[i].key, b->attrs[i].key) ||
                    !str_eq(a->attrs[i].value, b->attrs[i].value))
                        return 0;
        return 1;
}

static int crm_eq(const fd_crm_event *a, const fd_crm_event *b)
{
        return str_eq(a->event_id, b->event_id) &&
               str_eq(a->tenant_id, b->tenant_id) &&
               a->occurred_at == b->occurred_at &&
               str_eq(a->lead_id, b->lead_id) && str_eq(a->stage, b->stage) &&
               str_eq(a->opportunity_id, b->opportunity_id) &&
               a->has_amount == b->has_amount &&
               (!a->has_amount || a->amount_minor == b->amount_minor) &&
               str_eq(a->currency, b->currency) && str_eq(a->owner, b->owner);
}

static int zeroed(const fd_event *ev)
{
        static const fd_event zero;

        return memcmp(ev, &zero, sizeof(zero)) == 0;
}

/* Encodes ev with the reader schema and decodes it again: must be equal. */
static void check_round_trip(fd_codec *codec, const fd_event *ev,
                             const fd_decode_limits *limits)
{
        fd_buf buf = {0};
        fd_event again = {0};
        char err[1024] = "";
        fd_decode_err rc;

        if (fd_codec_encode_event(codec, ev->kind == FD_EV_LEAD ? 1 : 2, ev,
                                  &buf, err, sizeof(err)) != 0) {
                fprintf(stderr, "fuzz_decode: re-encoding failed: %s\n", err);
                abort();
        }
        rc = fd_codec_decode(codec, ev->kind, buf.data, buf.len, limits, &again,
                             err, sizeof(err));
        if (rc != FD_DECODE_OK) {
                fprintf(stderr, "fuzz_decode: re-decoding failed (%s): %s\n",
                        fd_decode_err_name(rc), err);
                abort();
        }
        FUZZ_ASSERT(again.kind == ev->kind);
        if (ev->kind == FD_EV_LEAD)
                FUZZ_ASSERT(lead_eq(&ev->u.lead, &again.u.lead));
        else
                FUZZ_ASSERT(crm_eq(&ev->u.crm, &again.u.crm));
        fd_event_clear(&again);
        fd_buf_free(&buf);
}

/* Decodes one fuzz input. Returns 1 when it decoded (and passed every
 * check), 0 when it was rejected with a reason; aborts on a broken
 * invariant. */
static int fd_fuzz_decode_one(const uint8_t *data, size_t size)
{
        fd_codec *codec = fuzz_codec(0);
        const fd_decode_limits *limits;
        fd_event_kind kind;
        fd_event ev = {0}, ref = {0};
        char err[1024] = "", ref_err[1024] = "";
        fd_decode_err rc, ref_rc;

        if (size == 0)
                return 0;
        kind = (data[0] & 1) ? FD_EV_CRM : FD_EV_LEAD;
        limits = (data[0] & 2) ? NULL : &fuzz_limits;
        fd_decode_limits with_slab = fuzz_limits;
        if (limits && (data[0] & 4)) {
                if (!fuzz_slab_shared)
                        fuzz_slab_shared = fd_slab_new(4096);
                with_slab.slab = fuzz_slab_shared;
                limits = &with_slab;
        }
        rc = fd_codec_decode(codec, kind, data + 1, size - 1, limits, &ev, err,
                             sizeof(err));
        /* The one-pass reader against avro-c's. */
        ref_rc = fd_codec_decode(fuzz_codec(1), kind, data + 1, size - 1,
                                 limits, &ref, ref_err, sizeof(ref_err));
        if (ref_rc != rc)
                fprintf(stderr,
                        "fuzz_decode: one-pass reader %s (%s), avro-c %s "
                        "(%s)\n",
                        fd_decode_err_name(rc), err, fd_decode_err_name(ref_rc),
                        ref_err);
        FUZZ_ASSERT(ref_rc == rc);
        if (rc == FD_DECODE_OK)
                FUZZ_ASSERT(kind == FD_EV_LEAD
                                    ? lead_eq(&ev.u.lead, &ref.u.lead)
                                    : crm_eq(&ev.u.crm, &ref.u.crm));
        fd_event_clear(&ref);
        FUZZ_ASSERT(fd_decode_err_name(rc) != NULL);
        if (rc != FD_DECODE_OK) {
                FUZZ_ASSERT(rc >= FD_DECODE_OVERSIZED && rc < 0);
                FUZZ_ASSERT(err[0] != '\0');
                FUZZ_ASSERT(memchr(err, '\0', sizeof(err)) != NULL);
                FUZZ_ASSERT(zeroed(&ev));
                return 0;
        }
        FUZZ_ASSERT(ev.kind == kind);
        if (kind == FD_EV_LEAD)
                check_lead(&ev.u.lead, limits);
        else
                check_crm(&ev.u.crm, limits);
        check_round_trip(codec, &ev, limits);
        fd_event_clear(&ev);
        FUZZ_ASSERT(zeroed(&ev));
        return 1;
}

#ifdef FD_FUZZ_NO_ENTRY
/* Releases the process-wide codec (for the unit test's leak checkers). */
static void fd_fuzz_decode_teardown(void)
{
        fd_codec_destroy(fuzz_codec_shared[0]);
        fd_codec_destroy(fuzz_codec_shared[1]);
        fuzz_codec_shared[0] = fuzz_codec_shared[1] = NULL;
        fd_slab_free(fuzz_slab_shared);
        fuzz_slab_shared = NULL;
}
#else
/* avro-c's generic records keep string buffers at unaligned offsets, so
 * LeakSanitizer only sees the codec's reusable values as reachable when it
 * also follows unaligned pointers. */
const char *__lsan_default_options(void);

const char *__lsan_default_options(void)
{
        return "use_unaligned=1";
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        (void)fd_fuzz_decode_one(data, size);
        return 0;
}
#endif
