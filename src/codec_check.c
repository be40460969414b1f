/* funneld — a bounded pre-validator for Avro binary bodies.
 *
 * avro-c trusts declared lengths and counts (a hostile length prefix can make
 * it allocate huge buffers or loop for long), so before a body is handed to
 * avro_value_read() it is walked once here against the writer schema: every
 * varint is at most 10 bytes, every length fits the remaining bytes, every
 * union and enum index is in range, ints fit 32 bits, booleans are 0 or 1,
 * the total number of array/map items is bounded, nesting is bounded, and
 * the body must be consumed exactly (trailing bytes are rejected). */
#include <stdio.h>
#include <string.h>

#include "codec_internal.h"

#define CHECK_MAX_DEPTH 64

typedef struct cursor {
        const uint8_t *p;
        size_t left;
        size_t items_left;     /* array/map item budget */
        const char *field;     /* top-level field being walked, for messages */
        const char *nul_field; /* field of a string with a NUL byte */
        const uint8_t **at;    /* where each top-level field starts, or NULL */
        size_t at_cap;
} cursor;

static int read_varint(cursor *c, int64_t *out)
{
        uint64_t v = 0;
        int shift;

        for (shift = 0; shift < 70; shift += 7) {
                uint8_t b;

                if (c->left == 0)
                        return -1;
                b = *c->p++;
                c->left--;
                v |= (uint64_t)(b & 0x7f) << shift;
                if (!(b & 0x80)) {
                        *out = (int64_t)((v >> 1) ^ (~(v & 1) + 1));
                        return 0;
                }
        }
        return -1;
}

static int skip_bytes(cursor *c, int is_string)
{
        int64_t n;

        if (read_varint(c, &n) != 0 || n < 0 || (uint64_t)n > c->left)
                return -1;
        if (is_string && memchr(c->p, '\0', (size_t)n))
                c->nul_field = c->field ? c->field : "?";
        c->p += n;
        c->left -= (size_t)n;
        return 0;
}

static int skip_fixed(cursor *c, size_t n)
{
        if (n > c->left)
                return -1;
        c->p += n;
        c->left -= n;
        return 0;
}

static int check_value(cursor *c, avro_schema_t s, int depth);

/* Array or map blocks: count, [byte size if count < 0], items. */
static int check_blocks(cursor *c, avro_schema_t items, int is_map, int depth)
{
        for (;;) {
                int64_t cnt, size, i;

                if (read_varint(c, &cnt) != 0)
                        return -1;
                if (cnt == 0)
                        return 0;
                if (cnt < 0) {
                        if (cnt == INT64_MIN || read_varint(c, &size) != 0 ||
                            size < 0 || (uint64_t)size > c->left)
                                return -1;
                        cnt = -cnt;
                }
                if ((uint64_t)cnt > c->items_left)
                        return -1;
                c->items_left -= (size_t)cnt;
                for (i = 0; i < cnt; i++) {
                        if (is_map && skip_bytes(c, 1) != 0)
                                return -1;
                        if (check_value(c, items, depth + 1) != 0)
                                return -1;
                }
        }
}

static int check_record(cursor *c, avro_schema_t s, int depth)
{
        size_t i, n = avro_schema_record_size(s);

        for (i = 0; i < n; i++) {
                if (depth == 0) {
                        c->field = avro_schema_record_field_name(s, (int)i);
                        if (i < c->at_cap)
                                c->at[i] = c->p;
                }
                if (check_value(
                            c, avro_schema_record_field_get_by_index(s, (int)i),
                            depth + 1) != 0)
                        return -1;
        }
        return 0;
}

static int check_value(cursor *c, avro_schema_t s, int depth)
{
        int64_t v;

        if (depth > CHECK_MAX_DEPTH || !s)
                return -1;
        switch (avro_typeof(s)) {
        case AVRO_NULL:
                return 0;
        case AVRO_BOOLEAN:
                if (c->left == 0 || *c->p > 1)
                        return -1;
                return skip_fixed(c, 1);
        case AVRO_INT32:
                if (read_varint(c, &v) != 0)
                        return -1;
                return v < INT32_MIN || v > INT32_MAX ? -1 : 0;
        case AVRO_INT64:
                return read_varint(c, &v);
        case AVRO_FLOAT:
                return skip_fixed(c, 4);
        case AVRO_DOUBLE:
                return skip_fixed(c, 8);
        case AVRO_STRING:
                return skip_bytes(c, 1);
        case AVRO_BYTES:
                return skip_bytes(c, 0);
        case AVRO_FIXED:
                return skip_fixed(c, (size_t)avro_schema_fixed_size(s));
        case AVRO_ENUM:
                if (read_varint(c, &v) != 0)
                        return -1;
                return v < 0 || v >= avro_schema_enum_number_of_symbols(s) ? -1
                                                                           : 0;
        case AVRO_UNION:
                if (read_varint(c, &v) != 0 || v < 0 ||
                    (uint64_t)v >= avro_schema_union_size(s))
                        return -1;
                return check_value(c, avro_schema_union_branch(s, (int)v),
                                   depth + 1);
        case AVRO_RECORD:
                return check_record(c, s, depth);
        case AVRO_ARRAY:
                return check_blocks(c, avro_schema_array_items(s), 0, depth);
        case AVRO_MAP:
                return check_blocks(c, avro_schema_map_values(s), 1, depth);
        case AVRO_LINK:
                return check_value(c, avro_schema_link_target(s), depth + 1);
        }
        return -1;
}

fd_decode_err fd__check_body(avro_schema_t schema, const uint8_t *buf,
                             size_t len, const uint8_t **at, size_t at_cap,
                             char *errstr, size_t errstr_size)
{
        cursor c = {buf, len, len + 4096, NULL, NULL, at, at ? at_cap : 0};

        if (check_value(&c, schema, 0) != 0) {
                snprintf(errstr, errstr_size,
                         "value is not valid Avro for the writer schema "
                         "(truncated or corrupt near field '%s', byte %zu of "
                         "%zu); check that the producer uses the registered "
                         "schema",
                         c.field ? c.field : "?", len - c.left, len);
                return FD_DECODE_UNDECODABLE;
        }
        if (c.left != 0) {
                snprintf(errstr, errstr_size,
                         "value has %zu trailing bytes after the Avro record; "
                         "check that the producer uses the registered schema",
                         c.left);
                return FD_DECODE_UNDECODABLE;
        }
        if (c.nul_field) {
                snprintf(errstr, errstr_size,
                         "field '%s' contains a string with a NUL byte; "
                         "remove NUL characters from the producer's strings",
                         c.nul_field);
                return FD_DECODE_INVALID_FIELD;
        }
        return FD_DECODE_OK;
}
