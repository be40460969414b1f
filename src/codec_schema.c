/* funneld — codec schemas: the reader field tables, reader defaults taken
 * from the reader .avsc, and writer schema registration (compatibility
 * check and reader-field -> writer-field map, computed once). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "codec_internal.h"

#define LEAD(f)  offsetof(fd_lead_event, f)
#define CRM(f)   offsetof(fd_crm_event, f)
#define SPEND(f) offsetof(fd_spend_event, f)
/* A string field whose length the event keeps (off_cnt: its fd_len) */
#define LEAD_S(f)  LEAD(f), LEAD(len.f)
#define CRM_S(f)   CRM(f), CRM(len.f)
#define SPEND_S(f) SPEND(f), SPEND(len.f)

static const fd__field lead_fields[] = {
        {"event_id", FD__F_STR, LEAD_S(event_id)},
        {"tenant_id", FD__F_STR, LEAD_S(tenant_id)},
        {"occurred_at", FD__F_TIME, LEAD(occurred_at), 0},
        {"lead_id", FD__F_OPT_STR, LEAD_S(lead_id)},
        {"anonymous_id", FD__F_OPT_STR, LEAD_S(anonymous_id)},
        {"type", FD__F_STR, LEAD_S(type)},
        {"channel", FD__F_OPT_STR, LEAD_S(channel)},
        {"campaign", FD__F_OPT_STR, LEAD_S(campaign)},
        {"utm_source", FD__F_OPT_STR, LEAD(utm_source), 0},
        {"utm_medium", FD__F_OPT_STR, LEAD(utm_medium), 0},
        {"utm_campaign", FD__F_OPT_STR, LEAD(utm_campaign), 0},
        {"utm_term", FD__F_OPT_STR, LEAD(utm_term), 0},
        {"utm_content", FD__F_OPT_STR, LEAD(utm_content), 0},
        {"attributes", FD__F_ATTRS, LEAD(attrs), LEAD(attr_cnt)},
};

static const fd__field crm_fields[] = {
        {"event_id", FD__F_STR, CRM_S(event_id)},
        {"tenant_id", FD__F_STR, CRM_S(tenant_id)},
        {"occurred_at", FD__F_TIME, CRM(occurred_at), 0},
        {"lead_id", FD__F_STR, CRM_S(lead_id)},
        {"stage", FD__F_STR, CRM_S(stage)},
        {"opportunity_id", FD__F_OPT_STR, CRM(opportunity_id), 0},
        {"amount_minor", FD__F_OPT_LONG, CRM(amount_minor), CRM(has_amount)},
        {"currency", FD__F_OPT_STR, CRM(currency), 0},
        {"owner", FD__F_OPT_STR, CRM(owner), 0},
};

static const fd__field spend_fields[] = {
        {"event_id", FD__F_STR, SPEND_S(event_id)},
        {"tenant_id", FD__F_STR, SPEND_S(tenant_id)},
        {"occurred_at", FD__F_TIME, SPEND(occurred_at), 0},
        {"channel", FD__F_STR, SPEND(channel), 0},
        {"campaign", FD__F_OPT_STR, SPEND(campaign), 0},
        {"day", FD__F_STR, SPEND(day), 0},
        {"amount_minor", FD__F_OPT_LONG, SPEND(amount_minor),
         SPEND(has_amount)},
        {"currency", FD__F_STR, SPEND(currency), 0},
};

/* The record name and field table of each input kind. */
static const struct {
        const char *record;
        const fd__field *fields;
        size_t cnt;
} kinds[FD_EV__COUNT] = {
        [FD_EV_LEAD] = {"LeadEvent", lead_fields,
                        sizeof(lead_fields) / sizeof(lead_fields[0])},
        [FD_EV_CRM] = {"CrmStageEvent", crm_fields,
                       sizeof(crm_fields) / sizeof(crm_fields[0])},
        [FD_EV_SPEND] = {"SpendEvent", spend_fields,
                         sizeof(spend_fields) / sizeof(spend_fields[0])},
};

const char *fd__kind_record(fd_event_kind kind)
{
        return kind > FD_EV_NONE && kind < FD_EV__COUNT ? kinds[kind].record
                                                        : "?";
}

_Static_assert(sizeof(lead_fields) / sizeof(lead_fields[0]) <= FD__MAX_FIELDS,
               "raise FD__MAX_FIELDS");
_Static_assert(sizeof(crm_fields) / sizeof(crm_fields[0]) <= FD__MAX_FIELDS,
               "raise FD__MAX_FIELDS");

/* What a reader field type accepts, for error messages. */
static const char *ftype_want(fd__ftype t)
{
        switch (t) {
        case FD__F_STR:
        case FD__F_OPT_STR:
                return "string (or bytes, or a union of those with null)";
        case FD__F_TIME:
                return "long timestamp-millis (or int, or a union of those "
                       "with null)";
        case FD__F_OPT_LONG:
                return "long (or int, or a union of those with null)";
        case FD__F_ATTRS:
                return "map of string (or a union of it with null)";
        }
        return "?";
}

/* Returns a heap string the caller frees, or NULL with errstr. */
char *fd__read_file(const char *path, size_t *len, char *errstr,
                    size_t errstr_size)
{
        FILE *fp = fopen(path, "rb");
        char *text = NULL;
        long size;

        if (!fp) {
                snprintf(errstr, errstr_size,
                         "cannot open schema file %s: %s; check the path", path,
                         strerror(errno));
                return NULL;
        }
        if (fseek(fp, 0, SEEK_END) != 0 || (size = ftell(fp)) < 0 ||
            fseek(fp, 0, SEEK_SET) != 0 || size > 16 * 1024 * 1024) {
                snprintf(errstr, errstr_size,
                         "cannot read schema file %s (not a regular file or "
                         "larger than 16 MiB); check the path",
                         path);
                goto out;
        }
        text = malloc((size_t)size + 1);
        if (!text || fread(text, 1, (size_t)size, fp) != (size_t)size) {
                snprintf(errstr, errstr_size,
                         "cannot read schema file %s; check that it is "
                         "readable",
                         path);
                free(text);
                text = NULL;
                goto out;
        }
        text[size] = '\0';
        *len = (size_t)size;
out:
        fclose(fp);
        return text;
}

/* The JSON object of field name in a record schema's "fields", or NULL. */
static json_t *json_field(json_t *record, const char *name)
{
        json_t *fields = json_object_get(record, "fields");
        size_t i;
        json_t *f;

        json_array_foreach(fields, i, f)
        {
                json_t *n = json_object_get(f, "name");

                if (json_is_string(n) &&
                    strcmp(json_string_value(n), name) == 0)
                        return f;
        }
        return NULL;
}

/* Fills d (its strings owned by d) from the JSON default of a field. */
static int parse_default(fd__dflt *d, fd__ftype t, json_t *v)
{
        const char *key;
        json_t *val;

        d->present = 1;
        if (json_is_null(v)) {
                d->is_null = 1;
                return 0;
        }
        switch (t) {
        case FD__F_STR:
        case FD__F_OPT_STR:
                if (!json_is_string(v))
                        return -1;
                d->str = strdup(json_string_value(v));
                return d->str ? 0 : -1;
        case FD__F_TIME:
        case FD__F_OPT_LONG:
                if (!json_is_integer(v))
                        return -1;
                d->num = json_integer_value(v);
                return 0;
        case FD__F_ATTRS:
                if (!json_is_object(v))
                        return -1;
                d->attrs = calloc(json_object_size(v) + 1, sizeof(fd_attr));
                if (!d->attrs)
                        return -1;
                json_object_foreach(v, key, val)
                {
                        fd_attr *a = &d->attrs[d->attr_cnt++];

                        if (!json_is_string(val))
                                return -1;
                        a->key = strdup(key);
                        a->value = strdup(json_string_value(val));
                        if (!a->key || !a->value)
                                return -1;
                }
                return 0;
        }
        return -1;
}

/* Fills rd; on error the caller still calls fd__reader_free(rd). */
int fd__reader_init(fd__reader *rd, fd_event_kind kind, const char *json,
                    size_t len, const char *path, char *errstr,
                    size_t errstr_size)
{
        json_error_t jerr;
        json_t *root;
        size_t i;
        int rc = -1;

        memset(rd, 0, sizeof(*rd));
        rd->record = kinds[kind].record;
        rd->fields = kinds[kind].fields;
        rd->field_cnt = kinds[kind].cnt;
        root = json_loadb(json, len, 0, &jerr);
        if (!root) {
                snprintf(errstr, errstr_size,
                         "reader schema %s is not valid JSON (line %d: %s); "
                         "restore it from the funneld distribution",
                         path, jerr.line, jerr.text);
                return -1;
        }
        for (i = 0; i < rd->field_cnt; i++) {
                const fd__field *f = &rd->fields[i];
                json_t *jf = json_field(root, f->name);
                json_t *dv = jf ? json_object_get(jf, "default") : NULL;

                if (!jf) {
                        snprintf(errstr, errstr_size,
                                 "reader schema %s has no field '%s', which "
                                 "funneld needs for %s; restore the schema "
                                 "from the funneld distribution",
                                 path, f->name, rd->record);
                        goto out;
                }
                if (dv && parse_default(&rd->dflt[i], f->type, dv) != 0) {
                        snprintf(errstr, errstr_size,
                                 "reader schema %s: the default of field "
                                 "'%s' does not fit type %s; fix the default",
                                 path, f->name, ftype_want(f->type));
                        goto out;
                }
        }
        rc = 0;
out:
        json_decref(root);
        return rc;
}

/* Releases the defaults rd owns. */
void fd__reader_free(fd__reader *rd)
{
        size_t i, j;

        for (i = 0; i < FD__MAX_FIELDS; i++) {
                fd__dflt *d = &rd->dflt[i];

                free(d->str);
                for (j = 0; j < d->attr_cnt; j++) {
                        free(d->attrs[j].key);
                        free(d->attrs[j].value);
                }
                free(d->attrs);
                memset(d, 0, sizeof(*d));
        }
}

static avro_schema_t deref(avro_schema_t s)
{
        while (is_avro_link(s))
                s = avro_schema_link_target(s);
        return s;
}

/* 1 if the non-union writer type s can feed a reader field of type t. */
static int base_ok(fd__ftype t, avro_schema_t s)
{
        s = deref(s);
        switch (t) {
        case FD__F_STR:
        case FD__F_OPT_STR:
                return is_avro_string(s) || is_avro_bytes(s);
        case FD__F_TIME:
        case FD__F_OPT_LONG:
                return is_avro_int64(s) || is_avro_int32(s);
        case FD__F_ATTRS:
                if (!is_avro_map(s))
                        return 0;
                s = deref(avro_schema_map_values(s));
                return is_avro_string(s) || is_avro_bytes(s);
        }
        return 0;
}

/* 1 if writer type s (possibly a union with null) can feed type t. */
static int shape_ok(fd__ftype t, avro_schema_t s)
{
        size_t i, n;
        int has_base = 0;

        s = deref(s);
        if (!is_avro_union(s))
                return base_ok(t, s);
        n = avro_schema_union_size(s);
        for (i = 0; i < n; i++) {
                avro_schema_t b = deref(avro_schema_union_branch(s, (int)i));

                if (is_avro_null(b))
                        continue;
                if (!base_ok(t, b))
                        return 0;
                has_base = 1;
        }
        return has_base;
}

/* 1 if a JSON type (or any union branch) has a logicalType other than
 * timestamp-millis: time in other units would be silently misread. */
static int bad_time_unit(json_t *type)
{
        json_t *lt, *b;
        size_t i;

        if (json_is_array(type)) {
                for (i = 0; i < json_array_size(type); i++) {
                        b = json_array_get(type, i);
                        if (bad_time_unit(b))
                                return 1;
                }
                return 0;
        }
        lt = json_object_get(type, "logicalType");
        return json_is_string(lt) &&
               strcmp(json_string_value(lt), "timestamp-millis") != 0;
}

/* Checks writer field wi of record ws against reader field i of rd. */
static int check_field(const fd__reader *rd, size_t i, avro_schema_t ws,
                       json_t *wjson, const char *path, char *errstr,
                       size_t errstr_size)
{
        const fd__field *f = &rd->fields[i];
        int wi = avro_schema_record_field_get_index(ws, f->name);
        json_t *jf;

        if (wi < 0) {
                if (rd->dflt[i].present)
                        return -1;
                snprintf(errstr, errstr_size,
                         "writer schema %s lacks field '%s', which %s "
                         "requires (it has no default); add the field to the "
                         "writer schema",
                         path, f->name, rd->record);
                return -2;
        }
        if (!shape_ok(f->type, avro_schema_record_field_get_by_index(ws, wi))) {
                snprintf(errstr, errstr_size,
                         "writer schema %s: field '%s' has a type that "
                         "cannot be read as %s; change the writer schema to "
                         "that type",
                         path, f->name, ftype_want(f->type));
                return -2;
        }
        jf = json_field(wjson, f->name);
        if (f->type == FD__F_TIME && jf &&
            bad_time_unit(json_object_get(jf, "type"))) {
                snprintf(errstr, errstr_size,
                         "writer schema %s: field '%s' has a logicalType "
                         "other than timestamp-millis; write milliseconds "
                         "since the epoch as timestamp-millis",
                         path, f->name);
                return -2;
        }
        return wi;
}

/* Bytes a default takes in an event's string block, alignment included. */
static size_t dflt_size(const fd__dflt *d)
{
        size_t n = (d->str ? strlen(d->str) + 1 : 0) +
                   d->attr_cnt * sizeof(fd_attr) + sizeof(void *);

        for (size_t i = 0; i < d->attr_cnt; i++)
                n += strlen(d->attrs[i].key) + strlen(d->attrs[i].value) + 2;
        return n;
}

/* Builds w->fmap; 0 or -1 with errstr. */
static int build_fmap(fd__writer *w, const fd__reader *rd, json_t *wjson,
                      const char *path, char *errstr, size_t errstr_size)
{
        size_t i;

        if (!is_avro_record(w->schema)) {
                snprintf(errstr, errstr_size,
                         "writer schema %s is not a record; register the %s "
                         "record schema the producer writes",
                         path, rd->record);
                return -1;
        }
        for (i = 0; i < rd->field_cnt; i++) {
                int wi = check_field(rd, i, w->schema, wjson, path, errstr,
                                     errstr_size);
                if (wi == -2)
                        return -1;
                w->fmap[i] = wi;
                if (wi < 0)
                        w->dflt_bytes += dflt_size(&rd->dflt[i]);
        }
        w->wfield_cnt = avro_schema_record_size(w->schema);
        return 0;
}

/* Parses the writer JSON (both with jansson and avro-c) into w. */
static int writer_parse(fd__writer *w, const fd__reader *rd, const char *path,
                        char *errstr, size_t errstr_size)
{
        static const char empty[1];
        json_error_t jerr;
        json_t *wjson = NULL;
        size_t len = 0;
        char *text = fd__read_file(path, &len, errstr, errstr_size);
        int rc = -1;

        if (!text)
                return -1;
        wjson = json_loadb(text, len, 0, &jerr);
        if (!wjson) {
                snprintf(errstr, errstr_size,
                         "writer schema %s is not valid JSON (line %d: %s); "
                         "fix the file",
                         path, jerr.line, jerr.text);
                goto out;
        }
        if (avro_schema_from_json_length(text, len, &w->schema) != 0) {
                snprintf(errstr, errstr_size,
                         "writer schema %s is not a valid Avro schema (%s); "
                         "fix the file",
                         path, avro_strerror());
                goto out;
        }
        if (build_fmap(w, rd, wjson, path, errstr, errstr_size) != 0)
                goto out;
        if (fd__plan_compile(&w->plan, w->schema) != 0) {
                snprintf(errstr, errstr_size,
                         "out of memory compiling writer schema %s", path);
                goto out;
        }
        fd__scan_plan(w, rd);
        w->iface = avro_generic_class_from_schema(w->schema);
        if (!w->iface || avro_generic_value_new(w->iface, &w->value) != 0) {
                snprintf(errstr, errstr_size,
                         "cannot create an Avro value for writer schema %s "
                         "(%s); check memory",
                         path, avro_strerror());
                goto out;
        }
        w->reader = avro_reader_memory(empty, 0);
        if (!w->reader) {
                snprintf(errstr, errstr_size, "out of memory reading %s", path);
                goto out;
        }
        rc = 0;
out:
        json_decref(wjson);
        free(text);
        return rc;
}

/* Returns a writer owned by the caller, or NULL with errstr. */
fd__writer *fd__writer_new(const fd__reader *rd, fd_event_kind kind,
                           const char *path, char *errstr, size_t errstr_size)
{
        fd__writer *w = calloc(1, sizeof(*w));

        if (!w) {
                snprintf(errstr, errstr_size, "out of memory");
                return NULL;
        }
        w->kind = kind;
        if (writer_parse(w, rd, path, errstr, errstr_size) != 0) {
                fd__writer_destroy(w);
                return NULL;
        }
        return w;
}

/* Releases w and everything it owns. NULL is fine. */
void fd__writer_destroy(fd__writer *w)
{
        if (!w)
                return;
        if (w->reader)
                avro_reader_free(w->reader);
        if (w->value.self)
                avro_value_decref(&w->value);
        if (w->iface)
                avro_value_iface_decref(w->iface);
        if (w->schema)
                avro_schema_decref(w->schema);
        fd__plan_free(&w->plan);
        free(w);
}
