/* funneld — Avro decoding of input events and encoding of output events.
 *
 * Input values are either Confluent framed (magic byte 0, 4-byte big-endian
 * schema id, Avro binary body; the id maps to a writer schema file) or plain
 * Avro binary written with a configured writer schema. The writer schema may
 * differ from the reader schema in schemas/: extra writer fields are skipped,
 * reader fields missing from the writer take the reader's default (avro-c
 * 1.11.1 does not apply defaults, so the codec does). Schema objects and
 * per-writer field maps are built once and reused.
 *
 * Output events (PromotionEvent, AttributionEvent) and, for the generator,
 * input events are encoded with Confluent framing. */
#ifndef FUNNELD_CODEC_H
#define FUNNELD_CODEC_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "funneld/event.h"

typedef struct fd_codec fd_codec;

/* Why a value could not be decoded; the names go into the DLQ reason header. */
typedef enum fd_decode_err {
        FD_DECODE_OK = 0,
        FD_DECODE_UNDECODABLE = -1,    /* "undecodable": bytes not valid Avro */
        FD_DECODE_UNKNOWN_SCHEMA = -2, /* "unknown-schema-id" */
        FD_DECODE_BAD_MAGIC = -3,      /* "bad-magic-byte": neither framing */
        FD_DECODE_INCOMPATIBLE = -4,   /* "incompatible-schema" */
        FD_DECODE_MISSING_FIELD = -5,  /* "missing-field": required empty */
        FD_DECODE_INVALID_FIELD = -6,  /* "invalid-field": bad value */
        FD_DECODE_OVERSIZED = -7,      /* "oversized" */
} fd_decode_err;

/* Short reason name of err for headers and metrics. */
const char *fd_decode_err_name(fd_decode_err err);

/* Creates a codec reading reader schemas lead_event.avsc, crm_stage_event.avsc,
 * promotion_event.avsc, attribution_event.avsc and alert_event.avsc from
 * schema_dir.
 * Returns NULL and fills errstr on error. */
fd_codec *fd_codec_new(const char *schema_dir, char *errstr,
                       size_t errstr_size);
void fd_codec_destroy(fd_codec *codec);

/* Registers writer schema file path under Confluent id for kind. */
int fd_codec_add_writer(fd_codec *codec, int32_t id, fd_event_kind kind,
                        const char *path, char *errstr, size_t errstr_size);

/* Sets the writer schema used for values without Confluent framing for kind.
 * Without one, unframed values are rejected with FD_DECODE_BAD_MAGIC. */
int fd_codec_set_plain_writer(fd_codec *codec, fd_event_kind kind,
                              const char *path, char *errstr,
                              size_t errstr_size);

/* How a body is read into the event: by default in one pass straight from
 * its bytes, each field checked and copied in one step (bodies that pass
 * leaves, invalid ones included, are pre-validated and read with avro-c);
 * with on != 0 always pre-validated and read through avro-c's generic
 * value, the reference the unit tests and the decode fuzzer compare the
 * default with. Both accept and reject the same values and give the same
 * events. */
void fd_codec_use_avro_reader(fd_codec *codec, int on);

/* How promotions and attributions are encoded: by default written straight
 * from their fields (when the schemas in schemas/ have the types that
 * writer knows); with on != 0 through avro-c's generic value, the
 * reference the unit tests compare the default with. Both give the same
 * bytes. */
void fd_codec_use_avro_writer(fd_codec *codec, int on);

/* Limits checked while decoding. */
typedef struct fd_decode_limits {
        int64_t max_bytes;         /* larger values: FD_DECODE_OVERSIZED */
        int64_t min_event_time_ms; /* earlier occurred_at: invalid-field */
        int64_t max_event_time_ms; /* later occurred_at: invalid-field */
        struct fd_slab *slab; /* where an event's block of strings is carved
                               * (NULL: malloc; src/slab.h) */
} fd_decode_limits;

/* Decodes buf as kind into out (which must be zeroed or cleared). Validates
 * required fields (event_id, tenant_id non-empty; LeadEvent: lead_id or
 * anonymous_id, type; CrmStageEvent: lead_id and a known stage, amount >= 0)
 * and occurred_at within limits. On error returns the reason, writes a
 * human sentence to errstr, and leaves out cleared. */
fd_decode_err fd_codec_decode(fd_codec *codec, fd_event_kind kind,
                              const void *buf, size_t len,
                              const fd_decode_limits *limits, fd_event *out,
                              char *errstr, size_t errstr_size);

/* Bytes and their count (not necessarily NUL-terminated): a key's part
 * whose length is known, an event's string with its kept length. */
typedef struct fd_sv {
        const char *s;
        size_t n;
} fd_sv;
#define FD_SV(lit) ((fd_sv){(lit), sizeof(lit) - 1})

/* A NUL-terminated string as an fd_sv (measured). */
static inline fd_sv fd_sv_of(const char *s)
{
        return (fd_sv){s, strlen(s)};
}

/* A growable byte buffer. */
typedef struct fd_buf {
        char *data;
        size_t len;
        size_t cap;
} fd_buf;
void fd_buf_reset(fd_buf *buf);
/* Makes room for extra more bytes (and the NUL after them) in buf->data,
 * which buf owns. Returns 0, or -1 when memory runs out (buf unchanged). */
int fd_buf_reserve(fd_buf *buf, size_t extra);
/* fd_buf_reserve, without a call when the room is already there (the hot
 * paths' usual case). */
static inline int fd_buf_ensure(fd_buf *buf, size_t extra)
{
        return extra < buf->cap - buf->len ? 0 : fd_buf_reserve(buf, extra);
}
/* memcpy, out of line (fd_copy's longer copies). */
void fd_copy_long(void *dst, const void *src, size_t n);
/* memcpy for the short strings keys and commands are built from (ids,
 * names, key parts: mostly under 32 bytes, some 50 copies per event): up to
 * 32 bytes as two overlapping fixed-size moves, inlined, without memcpy's
 * call and size dispatch; longer ones by memcpy, out of line (in line, GCC
 * would warn about that branch for the short arrays it never sees). */
static inline void fd_copy(void *dst, const void *src, size_t n)
{
        unsigned char *d = dst;
        const unsigned char *s = src;
        if (n > 32) {
                fd_copy_long(d, s, n);
        } else if (n >= 16) {
                memcpy(d, s, 16);
                memcpy(d + (n - 16), s + (n - 16), 16);
        } else if (n >= 8) {
                memcpy(d, s, 8);
                memcpy(d + (n - 8), s + (n - 8), 8);
        } else if (n >= 4) {
                memcpy(d, s, 4);
                memcpy(d + (n - 4), s + (n - 4), 4);
        } else if (n) {
                d[0] = s[0];
                d[n / 2] = s[n / 2];
                d[n - 1] = s[n - 1];
        }
}
/* Copies len bytes of data to the end of buf, growing it as needed. The
 * data stays NUL-terminated past len for convenience. Returns 0, or -1 when
 * memory runs out (buf unchanged). Inline: keys are built from many short
 * appends per event. */
static inline int fd_buf_append(fd_buf *buf, const void *data, size_t len)
{
        if (fd_buf_ensure(buf, len) != 0)
                return -1;
        /* buf's fields read once, len stored before the copy: the copy's
         * byte stores may alias them, which would make the compiler read
         * them again after it. */
        char *d = buf->data;
        size_t at = buf->len;
        buf->len = at + len;
        fd_copy(d + at, data, len);
        d[at + len] = '\0';
        return 0;
}
void fd_buf_free(fd_buf *buf);

/* A PromotionEvent: a lead entered a stage. */
typedef struct fd_promotion {
        const char *event_id; /* deterministic */
        const char *tenant_id;
        const char *lead_id;
        const char *stage;          /* "mql", "sql", ... */
        const char *previous_stage; /* stage before, "" when none */
        int implied;
        int32_t cycle;
        int64_t occurred_at;        /* event time of the entry */
        const char *cause_event_id; /* input event that caused it */
        int32_t fit_score;
        int32_t engagement_score;
} fd_promotion;

/* An AlertEvent: a lead went cold in stage mql or sql. */
typedef struct fd_alert {
        const char *event_id; /* deterministic */
        const char *tenant_id;
        const char *lead_id;
        const char *alert; /* "sql_cold" or "mql_sla_missed" */
        const char *stage;
        int32_t cycle;
        int64_t entered_at;
        int64_t occurred_at; /* the deadline */
        int64_t window_ms;
        const char *clock;          /* "event" or "wall" */
        const char *source_channel; /* NULL when none */
        const char *opportunity_id; /* NULL when none */
        int32_t fit_score;
        int32_t engagement_score;
        int64_t value_minor;  /* meaningful when currency is set */
        const char *currency; /* NULL: no value */
} fd_alert;

typedef struct fd_credit {
        const char *model;
        const char *channel;
        const char *campaign; /* NULL when none */
        const char *touch_event_id;
        int64_t touch_at;
        int64_t credit_minor;
} fd_credit;

/* An AttributionEvent: closed-won revenue credited to touches. */
typedef struct fd_attribution_out {
        const char *event_id; /* deterministic */
        const char *tenant_id;
        const char *lead_id;
        const char *opportunity_id; /* "" when the CRM event had none */
        int64_t amount_minor;
        const char *currency;
        int64_t closed_at;
        int32_t touch_count; /* touches inside the lookback window */
        const fd_credit *credits;
        size_t credit_cnt;
} fd_attribution_out;

/* Appends the Confluent-framed encoding to out. 0 on success. */
int fd_codec_encode_promotion(fd_codec *codec, int32_t schema_id,
                              const fd_promotion *p, fd_buf *out, char *errstr,
                              size_t errstr_size);
int fd_codec_encode_attribution(fd_codec *codec, int32_t schema_id,
                                const fd_attribution_out *a, fd_buf *out,
                                char *errstr, size_t errstr_size);
int fd_codec_encode_alert(fd_codec *codec, int32_t schema_id, const fd_alert *a,
                          fd_buf *out, char *errstr, size_t errstr_size);
/* Encodes an input event with the reader schema (generator, tests). */
int fd_codec_encode_event(fd_codec *codec, int32_t schema_id,
                          const fd_event *ev, fd_buf *out, char *errstr,
                          size_t errstr_size);

#endif
