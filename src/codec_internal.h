/* funneld — private structures shared by the codec's source files
 * (codec.c, codec_schema.c, codec_check.c, codec_read.c, codec_encode.c). */
#ifndef FUNNELD_CODEC_INTERNAL_H
#define FUNNELD_CODEC_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <avro.h>

#include "funneld/codec.h"

/* Reads the zigzag varint at *p (before end, at most 10 bytes; most,
 * lengths and union branches, are one) into *out and moves *p past it. 0,
 * or -1 when end comes first or it is longer. */
static inline int fd__varint(const uint8_t **p, const uint8_t *end,
                             int64_t *out)
{
        uint64_t v = 0;

        if (*p < end && !(**p & 0x80)) {
                v = *(*p)++;
                *out = (int64_t)((v >> 1) ^ (~(v & 1) + 1));
                return 0;
        }
        for (int shift = 0; shift < 70 && *p < end; shift += 7) {
                uint8_t b = *(*p)++;

                v |= (uint64_t)(b & 0x7f) << shift;
                if (!(b & 0x80)) {
                        *out = (int64_t)((v >> 1) ^ (~(v & 1) + 1));
                        return 0;
                }
        }
        return -1;
}

/* Most fields a decoded reader record has (LeadEvent has 14). */
#define FD__MAX_FIELDS 16
/* Writers with more top-level fields are read with avro-c only. */
#define FD__MAX_WRITER_FIELDS 64
/* Larger attribute maps are read with avro-c (its duplicate-key rule needs a
 * lookup per entry). */
#define FD__DIRECT_MAX_ATTRS 64

/* How a reader field is stored in the C struct and which writer types may
 * feed it. Every writer type may also be a union with "null" (null means
 * absent: the field is then empty / missing). */
typedef enum fd__ftype {
        FD__F_STR,      /* char *, reader "string" (required) */
        FD__F_OPT_STR,  /* char *, reader ["null","string"]; "" -> NULL */
        FD__F_TIME,     /* int64_t, reader timestamp-millis long */
        FD__F_OPT_LONG, /* int64_t + int has flag, reader ["null","long"] */
        FD__F_ATTRS,    /* fd_attr array, reader map of string */
} fd__ftype;

typedef struct fd__field {
        const char *name;
        fd__ftype type;
        size_t off;     /* offset of the value in fd_lead/crm_event */
        size_t off_cnt; /* FD__F_OPT_LONG: has flag; FD__F_ATTRS: count;
                         * a string: its fd_len (0: none kept) */
} fd__field;

/* Keeps the length n of string field f of rec, when f keeps one. */
static inline void fd__keep_len(const fd__field *f, char *rec, size_t n)
{
        if (f->off_cnt)
                *(fd_len *)(rec + f->off_cnt) = n <= UINT16_MAX ? (fd_len)n : 0;
}

/* A reader field's default from the reader .avsc. */
typedef struct fd__dflt {
        int present; /* 0: no default, the writer must have the field */
        int is_null;
        char *str;      /* string default, owned */
        int64_t num;    /* long default */
        fd_attr *attrs; /* map default, owned */
        size_t attr_cnt;
} fd__dflt;

/* A writer schema compiled for the walks over a body (fd__check_body and
 * fd__scan_event): plain arrays instead of avro-c's per-call lookups.
 * Links point at the node of their target, so recursive schemas are
 * graphs; every node is owned by the plan. */
typedef struct fd__node {
        avro_type_t type;      /* never AVRO_LINK */
        size_t n;              /* record fields, union branches, enum
                                  symbols, fixed size */
        struct fd__node **kid; /* record fields, union branches; kid[0]:
                                  array items, map values */
        const char **name;     /* record field names (avro-c's strings) */
} fd__node;

typedef struct fd__plan {
        fd__node *root;
        fd__node **all; /* every node, for the release */
        size_t cnt, cap;
        avro_schema_t *from; /* all[i] was compiled from from[i] */
} fd__plan;

/* Compiles schema into plan (owned by the caller, fd__plan_free). 0, or
 * -1 out of memory. */
int fd__plan_compile(fd__plan *plan, avro_schema_t schema);
void fd__plan_free(fd__plan *plan);

/* Reader side of one input kind: field table and defaults. */
typedef struct fd__reader {
        const char *record; /* "LeadEvent" */
        const fd__field *fields;
        size_t field_cnt;
        fd__dflt dflt[FD__MAX_FIELDS];
} fd__reader;

/* One registered writer schema with its reusable generic value and the
 * reader-field -> writer-field map computed at registration. */
typedef struct fd__writer {
        int32_t id;
        fd_event_kind kind;
        avro_schema_t schema;
        avro_value_iface_t *iface;
        avro_value_t value;
        avro_reader_t reader;
        int fmap[FD__MAX_FIELDS]; /* writer field index, -1: use default */
        fd__plan plan;            /* schema compiled */
        size_t wfield_cnt;        /* top-level writer fields */
        size_t dflt_bytes;        /* room the defaults of missing fields take */
        /* fd__scan_event: the reader field each writer field feeds (-1:
         * none), and the room an event's block needs besides the body's
         * length (defaults, attribute arrays, alignment). */
        int8_t rfield[FD__MAX_WRITER_FIELDS];
        size_t scan_room;
} fd__writer;

/* A record written straight into a buffer (codec_write.c): the value of
 * each of the caller's fields, in the caller's order. */
typedef struct fd__wval {
        const char *str;              /* strings: NULL for null / "" */
        int64_t num;                  /* numbers; an array's item count */
        const struct fd__wval *items; /* an array's items' fields, in rows */
} fd__wval;

#define FD__MAX_WPLAN_FIELDS 32

typedef struct fd__wfield {
        uint8_t src;           /* index of the caller's value */
        uint8_t op;            /* how it is written (codec_write.c) */
        uint8_t null_b, val_b; /* a union's null and value branches */
} fd__wfield;

/* A record schema compiled for fd__wplan_write: its fields in order. */
typedef struct fd__wplan {
        avro_schema_t schema;
        size_t n; /* 0: not compiled, the record is left to avro-c */
        fd__wfield f[FD__MAX_WPLAN_FIELDS];
        const struct fd__wplan *item; /* the items of its array field */
} fd__wplan;

/* Compiles record schema rec for values supplied as names[0..name_cnt)
 * (item: the compiled plan of an array field's items). 0, or -1 when the
 * schema has a field not among names, a type the writer does not write,
 * or an array of other items. */
int fd__wplan_compile(fd__wplan *plan, avro_schema_t rec,
                      const char *const *names, size_t name_cnt,
                      fd__wplan *item);
/* Appends the Confluent framing's header (magic 0, big-endian schema id)
 * to out. 0, or -1 out of memory. */
int fd__frame_header(fd_buf *out, int32_t schema_id);
/* Appends the Confluent-framed record to out. 0, or -1 out of memory. */
int fd__wplan_write(const fd__wplan *plan, int32_t schema_id, const fd__wval *v,
                    fd_buf *out);

/* Reader schema and reusable value of one encoded record type, and its
 * direct writer when the schema allows one. */
typedef struct fd__enc {
        avro_schema_t schema;
        avro_value_iface_t *iface;
        avro_value_t value;
        fd__wplan wplan;
        fd__wplan witem; /* its array's items (AttributionEvent credits) */
} fd__enc;

enum {
        FD__ENC_LEAD,
        FD__ENC_CRM,
        FD__ENC_PROMO,
        FD__ENC_ATTR,
        FD__ENC_SPEND,
        FD__ENC_ALERT,
        FD__ENC_CNT
};

struct fd_codec {
        fd__reader rd[FD_EV__COUNT]; /* indexed by fd_event_kind */
        fd__writer **writers;
        size_t writer_cnt;
        size_t writer_cap;
        fd__writer *plain[FD_EV__COUNT]; /* plain writer per kind, or NULL */
        fd__enc enc[FD__ENC_CNT];
        int avro_reader; /* 1: always read bodies with avro-c */
        int avro_writer; /* 1: always encode with avro-c */
        avro_writer_t out_writer;
        char *scratch; /* encode scratch buffer, owned */
        size_t scratch_cap;
};

/* codec_schema.c */

/* "LeadEvent", "CrmStageEvent", "SpendEvent"; "?" for anything else. */
const char *fd__kind_record(fd_event_kind kind);

/* Reads the whole file at path into a NUL-terminated heap string the caller
 * frees; NULL and errstr on error. */
char *fd__read_file(const char *path, size_t *len, char *errstr,
                    size_t errstr_size);

/* Loads reader defaults of kind from the reader schema JSON text and checks
 * that the schema has the fields funneld needs. Fills rd (owned by codec). */
int fd__reader_init(fd__reader *rd, fd_event_kind kind, const char *json,
                    size_t len, const char *path, char *errstr,
                    size_t errstr_size);
void fd__reader_free(fd__reader *rd);

/* Parses writer schema file path for kind and checks it against the reader:
 * returns a new writer (owned by the caller, fd__writer_destroy) or NULL
 * with errstr naming the incompatible field. */
fd__writer *fd__writer_new(const fd__reader *rd, fd_event_kind kind,
                           const char *path, char *errstr, size_t errstr_size);
void fd__writer_destroy(fd__writer *w);

/* codec_check.c */

/* Walks the Avro binary body buf[0..len) against schema without allocating:
 * every length, count, union index and enum index is checked against the
 * remaining bytes, and the body must be consumed exactly. Returns
 * FD_DECODE_OK, FD_DECODE_UNDECODABLE or FD_DECODE_INVALID_FIELD (a string
 * containing a NUL byte), with a sentence in errstr. */
fd_decode_err fd__check_body(const fd__node *schema, const uint8_t *buf,
                             size_t len, char *errstr, size_t errstr_size);

/* Checks one value of type s (a top-level field's) at buf[0..len) by
 * fd__check_body's rules, taking its arrays' and maps' items from *items.
 * Returns the bytes it takes, or -1 when they are not a valid value; *nul
 * is set to 1 when one of its strings has a NUL byte. */
long fd__check_one(const fd__node *s, const uint8_t *buf, size_t len,
                   size_t *items, int *nul);

/* codec_read.c */

/* Reads a body in one pass, checking it as fd__check_body() would and
 * copying the values into out (kind set; its strings in one block, from
 * slab when not NULL). Returns 0, or -1 for any body it does not take: one
 * that fd__check_body() or fd__read_event() would refuse (so that they
 * give the reason), a map of more than FD__DIRECT_MAX_ATTRS keys, or a
 * shape it does not read. out must be released (fd_event_clear) either
 * way. */
int fd__scan_event(const fd_codec *codec, const fd__writer *w,
                   const uint8_t *body, size_t len, struct fd_slab *slab,
                   fd_event *out);

/* Fills w's scan fields (rfield, scan_room) for reader rd. */
void fd__scan_plan(fd__writer *w, const fd__reader *rd);

/* Copies a body fd__check_body() accepted into out with avro-c (which then
 * owns its strings; kind set even on error so that fd_event_clear releases
 * partial results). fd__scan_event() gives the same event for the bodies
 * it takes (the unit tests and the decode fuzzer compare them). */
fd_decode_err fd__read_event(fd_codec *codec, fd__writer *w,
                             const uint8_t *body, size_t len, fd_event *out,
                             char *errstr, size_t errstr_size);

/* Checks required fields, stage, amount and occurred_at limits (limits may
 * be NULL). May canonicalise the stage name in place. */
fd_decode_err fd__validate_event(fd_event *ev, const fd_decode_limits *limits,
                                 char *errstr, size_t errstr_size);

/* codec_encode.c */
int fd__enc_init(fd_codec *codec, const char *schema_dir, char *errstr,
                 size_t errstr_size);
void fd__enc_free(fd_codec *codec);

#endif
