/* funnelctl — one generic result document and its three renderings.
 *
 * A document is a list of named tables (columns with a kind, rows of string
 * cells, NULL meaning "no value") plus free-text notes. Every command fills
 * one; ctl_doc_print() renders it as aligned text tables, as one JSON
 * document ({"command": ..., "<table>": [{column: value}, ...], "notes":
 * [...]}) or as CSV (RFC 4180: per table a header row and its rows; tables
 * separated by one empty line). */
#ifndef CTL_OUT_H
#define CTL_OUT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef enum ctl_kind {
        CTL_STR,  /* JSON string */
        CTL_INT,  /* JSON integer */
        CTL_REAL, /* JSON number (fixed decimals in text and CSV) */
        CTL_BOOL, /* JSON true/false; cells "true"/"false" */
} ctl_kind;

typedef enum ctl_format {
        CTL_FMT_TABLE,
        CTL_FMT_JSON,
        CTL_FMT_CSV,
} ctl_format;

typedef struct ctl_col {
        const char *name;
        ctl_kind kind;
        const char *null_text; /* shown in tables for NULL; "-" if NULL */
} ctl_col;

typedef struct ctl_table ctl_table;
typedef struct ctl_doc ctl_doc;

/* Returns an empty document owned by the caller (ctl_doc_destroy), or NULL
 * when out of memory. command names the document in JSON. */
ctl_doc *ctl_doc_new(const char *command);
void ctl_doc_destroy(ctl_doc *doc);

/* Adds a table with cols (copied pointers: cols must outlive doc, e.g.
 * static arrays). The doc owns the table; NULL when out of memory. */
ctl_table *ctl_doc_table(ctl_doc *doc, const char *name, const ctl_col *cols,
                         size_t col_cnt);

/* Adds a note (printed under the tables, "notes" in JSON, left out of CSV). */
void ctl_doc_note(ctl_doc *doc, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));

/* Starts a new row whose cells are all NULL; the setters below fill the
 * current row. Out of memory is remembered and reported by ctl_doc_print. */
void ctl_row(ctl_table *t);
void ctl_set_str(ctl_table *t, size_t col, const char *value);
void ctl_set_int(ctl_table *t, size_t col, int64_t value);
void ctl_set_real(ctl_table *t, size_t col, double value, int decimals);
void ctl_set_bool(ctl_table *t, size_t col, int value);
/* num / den with decimals; left NULL when den <= 0. */
void ctl_set_ratio(ctl_table *t, size_t col, int64_t num, int64_t den,
                   int decimals);

/* Renders doc to fp. 0, or -1 (out of memory while building or rendering;
 * a message is written to errstr). */
int ctl_doc_print(const ctl_doc *doc, ctl_format format, FILE *fp, char *errstr,
                  size_t errstr_size);

#endif
