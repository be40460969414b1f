/* funneld — a bounded pre-validator for Avro binary bodies.
 *
 * avro-c trusts declared lengths and counts (a hostile length prefix can make
 * it allocate huge buffers or loop for long), so before a body is handed to
 * avro_value_read() it is walked once here against the writer schema: every
 * varint is at most 10 bytes, every length fits the remaining bytes, every
 * union and enum index is in range, ints fit 32 bits, booleans are 0 or 1,
 * the total number of array/map items is bounded, nesting is bounded, and
 * the body must be consumed exactly (trailing bytes are rejected). The
 * one-pass reader (codec_read.c) applies the same rules as it copies, and
 * checks the writer fields it does not copy here (fd__check_one). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec_internal.h"

#define CHECK_MAX_DEPTH 64

typedef struct cursor {
        const uint8_t *p;
        size_t left;
        size_t items_left;     /* array/map item budget */
        const char *field;     /* top-level field being walked, for messages */
        const char *nul_field; /* field of a string with a NUL byte */
} cursor;

/* A zigzag varint (fd__varint) at the cursor. */
static inline int read_varint(cursor *c, int64_t *out)
{
        const uint8_t *p = c->p;
        int rc = fd__varint(&p, c->p + c->left, out);

        c->left -= (size_t)(p - c->p);
        c->p = p;
        return rc;
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

/* ---- compiling a schema into plain nodes ---- */

static fd__node *compile(fd__plan *plan, avro_schema_t s);

/* The node already compiled from s (named types: records, enums, fixed). */
static fd__node *compiled(const fd__plan *plan, avro_schema_t s)
{
        for (size_t i = 0; i < plan->cnt; i++)
                if (plan->from[i] == s)
                        return plan->all[i];
        return NULL;
}

static fd__node *node_new(fd__plan *plan, avro_schema_t s, size_t kids)
{
        fd__node *node;

        if (plan->cnt == plan->cap) {
                size_t cap = plan->cap ? plan->cap * 2 : 16;
                fd__node **all = realloc(plan->all, cap * sizeof(*all));
                avro_schema_t *from;

                if (!all)
                        return NULL;
                plan->all = all;
                from = realloc(plan->from, cap * sizeof(*from));
                if (!from)
                        return NULL;
                plan->from = from;
                plan->cap = cap;
        }
        node = calloc(1, sizeof(*node));
        if (!node)
                return NULL;
        node->type = avro_typeof(s);
        node->kid = calloc(kids ? kids : 1, sizeof(*node->kid));
        node->name = calloc(kids ? kids : 1, sizeof(*node->name));
        plan->all[plan->cnt] = node;
        plan->from[plan->cnt++] = s;
        return node->kid && node->name ? node : NULL;
}

static fd__node *compile(fd__plan *plan, avro_schema_t s)
{
        fd__node *node;
        size_t i, n = 0;

        while (s && is_avro_link(s))
                s = avro_schema_link_target(s);
        if (!s)
                return NULL;
        if ((node = compiled(plan, s)))
                return node; /* a named type seen before (or recursion) */
        switch (avro_typeof(s)) {
        case AVRO_RECORD:
                n = avro_schema_record_size(s);
                break;
        case AVRO_UNION:
                n = avro_schema_union_size(s);
                break;
        case AVRO_ARRAY:
        case AVRO_MAP:
                n = 1;
                break;
        default:
                break;
        }
        if (!(node = node_new(plan, s, n)))
                return NULL;
        switch (node->type) {
        case AVRO_RECORD:
                node->n = n;
                for (i = 0; i < n; i++) {
                        node->name[i] =
                                avro_schema_record_field_name(s, (int)i);
                        node->kid[i] = compile(
                                plan, avro_schema_record_field_get_by_index(
                                              s, (int)i));
                        if (!node->kid[i])
                                return NULL;
                }
                break;
        case AVRO_UNION:
                node->n = n;
                for (i = 0; i < n; i++)
                        if (!(node->kid[i] = compile(
                                      plan,
                                      avro_schema_union_branch(s, (int)i))))
                                return NULL;
                break;
        case AVRO_ARRAY:
                node->kid[0] = compile(plan, avro_schema_array_items(s));
                return node->kid[0] ? node : NULL;
        case AVRO_MAP:
                node->kid[0] = compile(plan, avro_schema_map_values(s));
                return node->kid[0] ? node : NULL;
        case AVRO_ENUM:
                node->n = (size_t)avro_schema_enum_number_of_symbols(s);
                break;
        case AVRO_FIXED:
                node->n = (size_t)avro_schema_fixed_size(s);
                break;
        default:
                break;
        }
        return node;
}

int fd__plan_compile(fd__plan *plan, avro_schema_t schema)
{
        memset(plan, 0, sizeof(*plan));
        plan->root = compile(plan, schema);
        return plan->root ? 0 : -1;
}

void fd__plan_free(fd__plan *plan)
{
        for (size_t i = 0; i < plan->cnt; i++) {
                free(plan->all[i]->kid);
                free(plan->all[i]->name);
                free(plan->all[i]);
        }
        free(plan->all);
        free(plan->from);
        memset(plan, 0, sizeof(*plan));
}

/* ---- the walk ---- */

static int check_value(cursor *c, const fd__node *s, int depth);

/* Array or map blocks: count, [byte size if count < 0], items. */
static int check_blocks(cursor *c, const fd__node *items, int is_map, int depth)
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

/* check_value for the leaves most fields are (a string, a long, a union
 * with null), without its call and depth checks: 0 or -1, or 1 for a value
 * it leaves to check_value (nothing read then). */
static inline int check_leaf(cursor *c, const fd__node *s)
{
        const fd__node *b = s;
        int64_t v;

        if (s->type == AVRO_UNION) {
                /* a one-byte branch index, taken only when handled here */
                if (!c->left || (*c->p & 0x80))
                        return 1;
                v = (int64_t)(*c->p >> 1) ^ -(int64_t)(*c->p & 1);
                if (v < 0 || (uint64_t)v >= s->n || !(b = s->kid[v]) ||
                    (b->type != AVRO_NULL && b->type != AVRO_STRING &&
                     b->type != AVRO_INT64))
                        return 1;
                c->p++;
                c->left--;
        }
        switch (b->type) {
        case AVRO_NULL:
                return 0;
        case AVRO_STRING:
                return skip_bytes(c, 1);
        case AVRO_INT64:
                return read_varint(c, &v);
        default:
                return 1;
        }
}

static int check_record(cursor *c, const fd__node *s, int depth)
{
        for (size_t i = 0; i < s->n; i++) {
                int rc;
                if (depth == 0)
                        c->field = s->name[i];
                if (!s->kid[i])
                        return -1;
                rc = check_leaf(c, s->kid[i]);
                if (rc == 1)
                        rc = check_value(c, s->kid[i], depth + 1);
                if (rc != 0)
                        return -1;
        }
        return 0;
}

static int check_value(cursor *c, const fd__node *s, int depth)
{
        int64_t v;

        /* A union's branch is walked here, without a call per level. */
        for (; s && s->type == AVRO_UNION; s = s->kid[v], depth++)
                if (depth > CHECK_MAX_DEPTH || read_varint(c, &v) != 0 ||
                    v < 0 || (uint64_t)v >= s->n)
                        return -1;
        if (depth > CHECK_MAX_DEPTH || !s)
                return -1;
        switch (s->type) {
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
                return skip_fixed(c, s->n);
        case AVRO_ENUM:
                if (read_varint(c, &v) != 0)
                        return -1;
                return v < 0 || (uint64_t)v >= s->n ? -1 : 0;
        case AVRO_RECORD:
                return check_record(c, s, depth);
        case AVRO_ARRAY:
                return check_blocks(c, s->kid[0], 0, depth);
        case AVRO_MAP:
                return check_blocks(c, s->kid[0], 1, depth);
        default:
                return -1;
        }
}

long fd__check_one(const fd__node *s, const uint8_t *buf, size_t len,
                   size_t *items, int *nul)
{
        cursor c = {buf, len, *items, NULL, NULL};

        if (check_value(&c, s, 1) != 0)
                return -1;
        *items = c.items_left;
        *nul = c.nul_field != NULL;
        return (long)(len - c.left);
}

fd_decode_err fd__check_body(const fd__node *schema, const uint8_t *buf,
                             size_t len, char *errstr, size_t errstr_size)
{
        cursor c = {buf, len, len + 4096, NULL, NULL};

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
