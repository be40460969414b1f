/* funneld — private interfaces between config.c (loader), config_table.c
 * (the settings table, value parsers, reference printer) and config_rules.c
 * (scoring rule sections). Not part of the public API. */
#ifndef FUNNELD_CONFIG_INTERNAL_H
#define FUNNELD_CONFIG_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "funneld/config.h"
#include "funneld/score.h"

typedef enum fd_cfg_type {
        FD_CFG_STRING = 0, /* char *, non-empty */
        FD_CFG_INT,        /* int within [min, max] */
        FD_CFG_I32,        /* int32_t within [min, max]; unset = INT32_MIN */
        FD_CFG_I64,        /* int64_t within [min, max] */
        FD_CFG_BOOL,       /* int 0/1: true/false, yes/no, on/off, 1/0 */
        FD_CFG_DAYS,       /* int64_t ms, written as whole days */
        FD_CFG_DATE,       /* int64_t ms at UTC midnight, written YYYY-MM-DD */
        FD_CFG_ENUM,       /* char *, one of the comma list in choices */
        FD_CFG_LIST,       /* char ** at off, size_t count at off_cnt */
        FD_CFG_TIMEZONE,   /* char *, an IANA zone the system knows */
        FD_CFG_MODELS,     /* fd_model * at off, size_t count at off_cnt */
        FD_CFG_WEEKDAYS,   /* int bit mask (1 << wday, 0 = Sunday) */
        FD_CFG_DATES,      /* int64_t * days since 1970-01-01, ascending,
                            * unique, at off; size_t count at off_cnt */
        FD_CFG_CURRENCY,   /* char *, three capital letters (ISO 4217) */
        FD_CFG_WEIGHTS,    /* fd_custom_weights, MILESTONE:PERCENT list */
} fd_cfg_type;

/* One setting. Tenant settings live in fd_tenant_conf (off is relative to
 * it) and may be overridden per tenant; the others live in fd_config. */
typedef struct fd_cfg_key {
        const char *name;
        fd_cfg_type type;
        const char *def; /* default as written in a file; NULL: not set */
        int64_t min, max;
        const char *choices; /* FD_CFG_ENUM: "debug,info,warn,error" */
        int tenant;          /* 1: lives in fd_tenant_conf, overridable */
        size_t off;
        size_t off_cnt;
        const char *desc;
} fd_cfg_key;

extern const fd_cfg_key fd_cfg_keys[];
extern const size_t fd_cfg_key_cnt;

/* The table entry named name, or NULL. */
const fd_cfg_key *fd_cfg_key_find(const char *name);

/* Parses value for key and stores it in base (fd_config or fd_tenant_conf),
 * releasing what the field held. On a bad value returns -1, leaves the field
 * unchanged and writes "key 'x' must be ..., got 'v'" to err. */
int fd_cfg_key_apply(const fd_cfg_key *key, void *base, const char *value,
                     char *err, size_t err_size);

/* Sets the field of key in base to its default (or "not set"); releases what
 * the field held. Returns 0, or -1 when out of memory. */
int fd_cfg_key_reset(const fd_cfg_key *key, void *base);

/* 1 when the field of key holds the same value in a and b. */
int fd_cfg_key_equal(const fd_cfg_key *key, const void *a, const void *b);

/* Deep-copies the field of key from src into dst (dst's old value is
 * released). Returns 0 or -1 when out of memory. */
int fd_cfg_key_copy(const fd_cfg_key *key, void *dst, const void *src);

/* Releases the field of key in base and zeroes it. */
void fd_cfg_key_free(const fd_cfg_key *key, void *base);

/* The candidate closest to name by edit distance when it is close enough to
 * be a likely typo, else NULL. */
const char *fd_cfg_closest(const char *name, const char *const *cands,
                           size_t cand_cnt);

/* Splits a comma list into trimmed, non-empty items. Returns a new array of
 * new strings (free with fd_cfg_strv_free) and the count in *cnt, or NULL
 * with *cnt = 0 when out of memory or when an item is empty (then *cnt = 1). */
char **fd_cfg_split_list(const char *value, size_t *cnt);
void fd_cfg_strv_free(char **v, size_t cnt);

/* Parses a whole decimal integer (optional sign, no junk). 0 or -1. */
int fd_cfg_parse_i64(const char *s, int64_t *out);

/* A scoring rule being assembled from its section's keys. */
typedef struct fd_rule_build {
        char *name;
        int line; /* where the rule's section (or first key) is */
        int kind; /* fd_score_kind, -1 until set */
        char *event_type;
        char *attr;
        int match; /* fd_match_kind, -1 until set */
        char *value;
        char **values;
        size_t value_cnt;
        int32_t points;
        int points_set;
        int32_t cap;
        int cap_set;
        int attr_line, match_line, value_line, values_line;
} fd_rule_build;

/* The keys a rule section accepts, for messages and suggestions. */
extern const char *const fd_rule_key_names[];
extern const size_t fd_rule_key_cnt;

/* Starts a rule named name whose section is at line. Returns 0 or -1. */
int fd_rule_build_init(fd_rule_build *rb, const char *name, int line);

/* Stores one key of the rule. On a bad key or value returns -1 with a
 * message in err (no file/line prefix). */
int fd_rule_build_set(fd_rule_build *rb, const char *key, const char *value,
                      int line, char *err, size_t err_size);

/* The most nodes one rule regex may compile to, and all of a config
 * file's rule regexes together (fd_regex_nodes; a tenant's copy of the
 * default rules shares their compiled regexes and counts nothing). Real
 * patterns take tens. Under 1000 nodes and without the hazards the loader
 * also refuses (FD_REGEX_EMPTY_LOOP, FD_REGEX_BACKREF), glibc's regcomp
 * took at most about 2 MiB and 3 ms over some 180,000 random patterns
 * built from bounds, stars, groups, anchors and alternations; unbounded,
 * one line like "((a{99}){99}){99}" takes gigabytes and "()*{0,5}{9}"
 * most of a minute. */
#define FD_REGEX_MAX_NODES 1000
#define FD_REGEX_MAX_TOTAL 10000

/* Checks the assembled rule and fills out (caller releases it with
 * fd_score_model_clear). A regex rule takes its nodes from
 * *regex_budget. On error returns -1, sets *err_line and err. */
int fd_rule_build_finish(const fd_rule_build *rb, fd_score_rule *out,
                         size_t *regex_budget, int *err_line, char *err,
                         size_t err_size);

void fd_rule_build_clear(fd_rule_build *rb);

/* Deep-copies src into dst, sharing its compiled regex. 0 or -1. */
int fd_score_rule_copy(fd_score_rule *dst, const fd_score_rule *src);

/* Deep-copies the rules of src into dst, whose rules must be empty (the
 * hand-raise list and MQL condition are copied through the table). 0 or
 * -1. */
int fd_score_model_copy_rules(fd_score_model *dst, const fd_score_model *src);

/* Prints the Markdown reference of rule and tenant sections. */
void fd_cfg_print_rule_reference(FILE *fp);

#endif
