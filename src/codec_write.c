/* funneld — writing Avro binary records straight into a buffer, for the
 * output records whose schema is made of strings, numbers, booleans,
 * unions with null and arrays of such records (codec_internal.h: fd__wplan).
 *
 * The bytes are those avro-c's avro_value_write gives for the same values
 * filled with codec_encode.c's put_str / put_num (test_codec compares
 * them); a schema with anything else is left to avro-c. */
#include <string.h>

#include "codec_internal.h"

/* How a field is written. */
enum {
        W_STR,     /* string: NULL as "" */
        W_OPT_STR, /* union with null and string: NULL as null */
        W_LONG,    /* long */
        W_INT,     /* int: the value's low 32 bits */
        W_BOOL,    /* boolean: value != 0 */
        W_ARRAY    /* array of records of the field's item plan */
};

/* The branches of a union with null: 0 when it is not [null, X] or
 * [X, null] with X of type want. (Only strings are written as optional:
 * the encoders give every number, as put_num with has = 1 would.) */
static int null_union(avro_schema_t s, avro_type_t want, uint8_t *null_b,
                      uint8_t *val_b)
{
        if (avro_schema_union_size(s) != 2)
                return 0;
        for (int i = 0; i < 2; i++) {
                avro_type_t t = avro_typeof(avro_schema_union_branch(s, i));
                avro_type_t u = avro_typeof(avro_schema_union_branch(s, 1 - i));
                if (t == AVRO_NULL && u == want) {
                        *null_b = (uint8_t)i;
                        *val_b = (uint8_t)(1 - i);
                        return 1;
                }
        }
        return 0;
}

int fd__wplan_compile(fd__wplan *plan, avro_schema_t rec,
                      const char *const *names, size_t name_cnt,
                      fd__wplan *item)
{
        size_t n;

        memset(plan, 0, sizeof(*plan));
        if (!rec || avro_typeof(rec) != AVRO_RECORD)
                return -1;
        n = avro_schema_record_size(rec);
        if (n > FD__MAX_WPLAN_FIELDS || n != name_cnt)
                return -1; /* a field the caller does not supply */
        for (size_t i = 0; i < n; i++) {
                const char *name = avro_schema_record_field_name(rec, (int)i);
                avro_schema_t s =
                        avro_schema_record_field_get_by_index(rec, (int)i);
                fd__wfield *f = &plan->f[i];
                size_t src = 0;

                while (src < name_cnt && strcmp(names[src], name) != 0)
                        src++;
                if (src == name_cnt)
                        return -1;
                f->src = (uint8_t)src;
                switch (avro_typeof(s)) {
                case AVRO_STRING:
                        f->op = W_STR;
                        break;
                case AVRO_INT64:
                        f->op = W_LONG;
                        break;
                case AVRO_INT32:
                        f->op = W_INT;
                        break;
                case AVRO_BOOLEAN:
                        f->op = W_BOOL;
                        break;
                case AVRO_UNION:
                        if (!null_union(s, AVRO_STRING, &f->null_b, &f->val_b))
                                return -1;
                        f->op = W_OPT_STR;
                        break;
                case AVRO_ARRAY:
                        if (!item || !item->n ||
                            avro_schema_array_items(s) != item->schema)
                                return -1;
                        f->op = W_ARRAY;
                        plan->item = item;
                        break;
                default:
                        return -1;
                }
        }
        plan->n = n;
        plan->schema = rec;
        return 0;
}

/* Avro's zigzag varint of v at p (room for 10 bytes); its length. */
static size_t put_varint(uint8_t *p, int64_t v)
{
        uint64_t u = ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
        size_t n = 0;

        while (u >= 0x80) {
                p[n++] = (uint8_t)(u | 0x80);
                u >>= 7;
        }
        p[n++] = (uint8_t)u;
        return n;
}

static int w_varint(fd_buf *out, int64_t v)
{
        if (fd_buf_ensure(out, 10) != 0)
                return -1;
        out->len += put_varint((uint8_t *)out->data + out->len, v);
        out->data[out->len] = '\0';
        return 0;
}

static int w_str(fd_buf *out, const char *s)
{
        size_t n = s ? strlen(s) : 0;
        return w_varint(out, (int64_t)n) || fd_buf_append(out, s, n);
}

static int w_record(fd_buf *out, const fd__wplan *plan, const fd__wval *v)
{
        int rc = 0;

        for (size_t i = 0; i < plan->n && !rc; i++) {
                const fd__wfield *f = &plan->f[i];
                const fd__wval *x = &v[f->src];

                switch (f->op) {
                case W_STR:
                        rc = w_str(out, x->str);
                        break;
                case W_OPT_STR:
                        rc = x->str ? w_varint(out, f->val_b) ||
                                              w_str(out, x->str)
                                    : w_varint(out, f->null_b);
                        break;
                case W_LONG:
                        rc = w_varint(out, x->num);
                        break;
                case W_INT:
                        rc = w_varint(out, (int32_t)x->num);
                        break;
                case W_BOOL:
                        rc = fd_buf_append(out, x->num ? "\1" : "\0", 1);
                        break;
                case W_ARRAY: {
                        /* one block of all the items, then the end */
                        size_t cnt = (size_t)x->num, k = plan->item->n;
                        if (cnt)
                                rc = w_varint(out, (int64_t)cnt);
                        for (size_t j = 0; j < cnt && !rc; j++)
                                rc = w_record(out, plan->item,
                                              x->items + j * k);
                        rc = rc || w_varint(out, 0);
                        break;
                }
                }
        }
        return rc ? -1 : 0;
}

int fd__frame_header(fd_buf *out, int32_t schema_id)
{
        const uint8_t hdr[5] = {0, (uint8_t)((uint32_t)schema_id >> 24),
                                (uint8_t)((uint32_t)schema_id >> 16),
                                (uint8_t)((uint32_t)schema_id >> 8),
                                (uint8_t)schema_id};
        return fd_buf_append(out, hdr, sizeof(hdr));
}

int fd__wplan_write(const fd__wplan *plan, int32_t schema_id, const fd__wval *v,
                    fd_buf *out)
{
        size_t old_len = out->len;

        if (fd__frame_header(out, schema_id) != 0 ||
            w_record(out, plan, v) != 0) {
                out->len = old_len;
                return -1;
        }
        return 0;
}
