/* funnelctl — rendering of the generic result document. */
#include "ctl_out.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

struct ctl_table {
        const char *name;
        const ctl_col *cols;
        size_t col_cnt;
        char ***rows; /* rows[r][c], NULL cell = no value */
        size_t row_cnt, row_cap;
        ctl_doc *doc;
};

struct ctl_doc {
        const char *command;
        ctl_table **tables;
        size_t table_cnt;
        char **notes;
        size_t note_cnt;
        int oom;
};

ctl_doc *ctl_doc_new(const char *command)
{
        ctl_doc *doc = calloc(1, sizeof(*doc));
        if (doc)
                doc->command = command;
        return doc;
}

static void table_destroy(ctl_table *t)
{
        for (size_t r = 0; r < t->row_cnt; r++) {
                for (size_t c = 0; c < t->col_cnt; c++)
                        free(t->rows[r][c]);
                free(t->rows[r]);
        }
        free(t->rows);
        free(t);
}

void ctl_doc_destroy(ctl_doc *doc)
{
        if (!doc)
                return;
        for (size_t i = 0; i < doc->table_cnt; i++)
                table_destroy(doc->tables[i]);
        for (size_t i = 0; i < doc->note_cnt; i++)
                free(doc->notes[i]);
        free(doc->tables);
        free(doc->notes);
        free(doc);
}

ctl_table *ctl_doc_table(ctl_doc *doc, const char *name, const ctl_col *cols,
                         size_t col_cnt)
{
        ctl_table **tables;
        ctl_table *t = calloc(1, sizeof(*t));
        tables =
                t ? realloc(doc->tables, (doc->table_cnt + 1) * sizeof(*tables))
                  : NULL;
        if (!tables) {
                free(t);
                doc->oom = 1;
                return NULL;
        }
        t->name = name;
        t->cols = cols;
        t->col_cnt = col_cnt;
        t->doc = doc;
        doc->tables = tables;
        doc->tables[doc->table_cnt++] = t;
        return t;
}

void ctl_doc_note(ctl_doc *doc, const char *fmt, ...)
{
        char buf[1024], **notes, *s;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(buf, sizeof(buf), fmt, ap);
        va_end(ap);
        s = strdup(buf);
        notes = s ? realloc(doc->notes, (doc->note_cnt + 1) * sizeof(*notes))
                  : NULL;
        if (!notes) {
                free(s);
                doc->oom = 1;
                return;
        }
        doc->notes = notes;
        doc->notes[doc->note_cnt++] = s;
}

void ctl_row(ctl_table *t)
{
        char **row;
        if (!t)
                return;
        if (t->row_cnt == t->row_cap) {
                size_t cap = t->row_cap ? t->row_cap * 2 : 16;
                char ***rows = realloc(t->rows, cap * sizeof(*rows));
                if (!rows) {
                        t->doc->oom = 1;
                        return;
                }
                t->rows = rows;
                t->row_cap = cap;
        }
        row = calloc(t->col_cnt, sizeof(*row));
        if (!row) {
                t->doc->oom = 1;
                return;
        }
        t->rows[t->row_cnt++] = row;
}

void ctl_set_str(ctl_table *t, size_t col, const char *value)
{
        char **cell;
        if (!t || !t->row_cnt || col >= t->col_cnt)
                return;
        cell = &t->rows[t->row_cnt - 1][col];
        free(*cell);
        *cell = NULL;
        if (value && !(*cell = strdup(value)))
                t->doc->oom = 1;
}

void ctl_set_int(ctl_table *t, size_t col, int64_t value)
{
        char buf[32];
        snprintf(buf, sizeof(buf), "%lld", (long long)value);
        ctl_set_str(t, col, buf);
}

void ctl_set_real(ctl_table *t, size_t col, double value, int decimals)
{
        char buf[64];
        snprintf(buf, sizeof(buf), "%.*f", decimals, value);
        ctl_set_str(t, col, buf);
}

void ctl_set_bool(ctl_table *t, size_t col, int value)
{
        ctl_set_str(t, col, value ? "true" : "false");
}

void ctl_set_ratio(ctl_table *t, size_t col, int64_t num, int64_t den,
                   int decimals)
{
        if (den > 0)
                ctl_set_real(t, col, (double)num / (double)den, decimals);
}

/* ------------------------------------------------------------ table */

static const char *shown(const ctl_col *col, const char *cell)
{
        if (cell)
                return cell;
        return col->null_text ? col->null_text : "-";
}

static void print_text_table(const ctl_table *t, FILE *fp)
{
        size_t width[64] = {0};
        size_t cols = t->col_cnt < 64 ? t->col_cnt : 64;

        for (size_t c = 0; c < cols; c++) {
                width[c] = strlen(t->cols[c].name);
                for (size_t r = 0; r < t->row_cnt; r++) {
                        size_t n = strlen(shown(&t->cols[c], t->rows[r][c]));
                        if (n > width[c])
                                width[c] = n;
                }
        }
        fprintf(fp, "%s\n", t->name);
        for (size_t r = 0; r <= t->row_cnt; r++) {
                for (size_t c = 0; c < cols; c++) {
                        const ctl_col *col = &t->cols[c];
                        const char *s = r == 0 ? col->name
                                               : shown(col, t->rows[r - 1][c]);
                        int right =
                                col->kind == CTL_INT || col->kind == CTL_REAL;
                        int last = c + 1 == cols;
                        fputs("  ", fp);
                        if (right)
                                fprintf(fp, "%*s", (int)width[c], s);
                        else if (last)
                                fprintf(fp, "%s", s);
                        else
                                fprintf(fp, "%-*s", (int)width[c], s);
                }
                fputc('\n', fp);
        }
        if (!t->row_cnt)
                fprintf(fp, "  (no rows)\n");
}

static void print_text(const ctl_doc *doc, FILE *fp)
{
        for (size_t i = 0; i < doc->table_cnt; i++) {
                if (i)
                        fputc('\n', fp);
                print_text_table(doc->tables[i], fp);
        }
        if (doc->note_cnt)
                fputc('\n', fp);
        for (size_t i = 0; i < doc->note_cnt; i++)
                fprintf(fp, "note: %s\n", doc->notes[i]);
}

/* ------------------------------------------------------------ CSV */

static void csv_field(const char *s, FILE *fp)
{
        if (!s)
                return;
        if (!strpbrk(s, ",\"\r\n")) {
                fputs(s, fp);
                return;
        }
        fputc('"', fp);
        for (; *s; s++) {
                if (*s == '"')
                        fputc('"', fp);
                fputc(*s, fp);
        }
        fputc('"', fp);
}

static void print_csv(const ctl_doc *doc, FILE *fp)
{
        for (size_t i = 0; i < doc->table_cnt; i++) {
                const ctl_table *t = doc->tables[i];
                if (i)
                        fputs("\r\n", fp);
                for (size_t r = 0; r <= t->row_cnt; r++) {
                        for (size_t c = 0; c < t->col_cnt; c++) {
                                if (c)
                                        fputc(',', fp);
                                csv_field(r ? t->rows[r - 1][c]
                                            : t->cols[c].name,
                                          fp);
                        }
                        fputs("\r\n", fp);
                }
        }
}

/* ------------------------------------------------------------ JSON */

static json_t *json_cell(const ctl_col *col, const char *cell)
{
        char *end;
        if (!cell)
                return json_null();
        switch (col->kind) {
        case CTL_INT: {
                long long v = strtoll(cell, &end, 10);
                return *end ? json_string(cell) : json_integer(v);
        }
        case CTL_REAL: {
                double v = strtod(cell, &end);
                return *end ? json_string(cell) : json_real(v);
        }
        case CTL_BOOL:
                return json_boolean(strcmp(cell, "true") == 0);
        case CTL_STR:
        default:
                return json_string(cell);
        }
}

static json_t *json_table(const ctl_table *t)
{
        json_t *rows = json_array();
        for (size_t r = 0; rows && r < t->row_cnt; r++) {
                json_t *obj = json_object();
                for (size_t c = 0; obj && c < t->col_cnt; c++)
                        if (json_object_set_new(
                                    obj, t->cols[c].name,
                                    json_cell(&t->cols[c], t->rows[r][c])))
                                goto fail;
                if (json_array_append_new(rows, obj))
                        goto fail;
        }
        return rows;
fail:
        json_decref(rows);
        return NULL;
}

static int print_json(const ctl_doc *doc, FILE *fp)
{
        json_t *root = json_object(), *notes = json_array();
        int rc = -1;
        if (!root || !notes)
                goto done;
        if (json_object_set_new(root, "command", json_string(doc->command)))
                goto done;
        for (size_t i = 0; i < doc->table_cnt; i++)
                if (json_object_set_new(root, doc->tables[i]->name,
                                        json_table(doc->tables[i])))
                        goto done;
        for (size_t i = 0; i < doc->note_cnt; i++)
                if (json_array_append_new(notes, json_string(doc->notes[i])))
                        goto done;
        if (json_object_set(root, "notes", notes))
                goto done;
        if (json_dumpf(root, fp,
                       JSON_INDENT(2) | JSON_PRESERVE_ORDER |
                               JSON_REAL_PRECISION(10)))
                goto done;
        fputc('\n', fp);
        rc = 0;
done:
        json_decref(notes);
        json_decref(root);
        return rc;
}

int ctl_doc_print(const ctl_doc *doc, ctl_format format, FILE *fp, char *errstr,
                  size_t errstr_size)
{
        if (doc->oom) {
                snprintf(errstr, errstr_size,
                         "out of memory while building the %s result; "
                         "narrow the query (--month, --model) or free memory",
                         doc->command);
                return -1;
        }
        switch (format) {
        case CTL_FMT_JSON:
                if (print_json(doc, fp)) {
                        snprintf(errstr, errstr_size,
                                 "cannot render the %s result as JSON (out "
                                 "of memory or invalid UTF-8 in Redis "
                                 "data); try --format csv",
                                 doc->command);
                        return -1;
                }
                return 0;
        case CTL_FMT_CSV:
                print_csv(doc, fp);
                return 0;
        case CTL_FMT_TABLE:
        default:
                print_text(doc, fp);
                return 0;
        }
}
