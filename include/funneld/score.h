/* funneld — rule-based lead scoring (fit and engagement).
 *
 * A rule matches on the event type, an attribute, or both, and awards its
 * points (negative allowed) each time it matches, until the rule's cap on the
 * total it may award to one lead in one cycle is reached. Fit rules default
 * to cap = points (a profile fact counts once). Pure logic: no I/O. */
#ifndef FUNNELD_SCORE_H
#define FUNNELD_SCORE_H

#include <regex.h>
#include <stddef.h>
#include <stdint.h>

#include "funneld/event.h"

typedef enum fd_score_kind {
        FD_SCORE_FIT = 0,
        FD_SCORE_ENGAGEMENT = 1
} fd_score_kind;

typedef enum fd_match_kind {
        FD_MATCH_ANY = 0,  /* no attribute condition */
        FD_MATCH_EXACT,    /* attribute == value (case-sensitive) */
        FD_MATCH_SET,      /* attribute is one of values */
        FD_MATCH_CONTAINS, /* attribute contains value, case-insensitive */
        FD_MATCH_REGEX,    /* POSIX extended regex, case-insensitive */
} fd_match_kind;

typedef struct fd_score_rule {
        char *name;  /* unique; used as the cap counter's name */
        char *field; /* "rule:<name>", the lead hash field of that counter */
        fd_score_kind kind;
        char *event_type; /* NULL: any event type */
        char *attr;       /* NULL: no attribute condition */
        fd_match_kind match;
        char **values; /* match operands */
        size_t value_cnt;
        struct fd_rule_regex *rx; /* when match == FD_MATCH_REGEX */
        int32_t points;           /* may be negative */
        int32_t cap;              /* max |total| awarded per lead per cycle;
                                   * 0 = unlimited */
} fd_score_rule;

typedef struct fd_mql_condition {
        /* all set thresholds must hold; INT32_MIN = not set */
        int32_t min_fit;
        int32_t min_engagement;
        int32_t min_total;
} fd_mql_condition;

typedef struct fd_score_model {
        fd_score_rule *rules;
        size_t rule_cnt;
        fd_mql_condition mql;
        char **handraise_types; /* event types that promote to SQL */
        size_t handraise_cnt;
        /* Engagement decay in event time (scoring.decay*): */
        char *decay;          /* "none", "linear", "half_life" or "expire" */
        int64_t decay_ms;     /* linear: the period; half_life: the half-life;
                               * expire: how long an event's points count */
        int32_t decay_points; /* linear: points lost per period boundary */
} fd_score_model;

/* A regex rule's memo: regexec costs thousands of instructions and
 * attribute values repeat (job titles, pages), so a rule remembers its
 * answers for the values it saw last, in 256 slots chosen by the value's
 * hash. Values over 110 bytes are not remembered. NULL when out of memory:
 * the rule then runs regexec every time. A memo is written as it answers:
 * one thread scores with a model at a time (funneld's main loop). */
struct fd_regex_memo *fd_regex_memo_new(void);
void fd_regex_memo_free(struct fd_regex_memo *memo);

/* regexec(re, v) == 0, through memo when not NULL. */
int fd_regex_memo_match(struct fd_regex_memo *memo, const regex_t *re,
                        const char *v);

/* A regex rule's compiled pattern and memo, shared by the copies of the
 * rule (every tenant that takes the default rules holds the same one). */
typedef struct fd_rule_regex {
        regex_t re;
        struct fd_regex_memo *memo; /* NULL: regexec every time */
        size_t refs;
} fd_rule_regex;

/* Compiles pattern (POSIX extended, case-insensitive) into a new shared
 * regex with one reference. NULL with regcomp's message in msg (or "out of
 * memory"). */
fd_rule_regex *fd_rule_regex_new(const char *pattern, char *msg,
                                 size_t msg_size);

/* Drops one reference; the last frees the regex. NULL is ignored. */
void fd_rule_regex_release(fd_rule_regex *rx);

/* What fd_regex_nodes reports in *hazards besides the count: a
 * back-reference (\1 to \9 outside brackets), which glibc's matcher may
 * need exponential time for, and a repetition of something that may match
 * the empty string ("(a*)*", "(a?){9}", "()+"), whose epsilon loops take
 * its compiler exponential time. */
#define FD_REGEX_BACKREF    1u
#define FD_REGEX_EMPTY_LOOP 2u

/* An estimate of the nodes glibc's regcomp builds for pattern (with
 * REG_NOSUB, where groups add none unless empty), weighted by what they
 * cost it: one per literal, bracket expression, escape, anchor and "|",
 * three per "*" and "?" (nodes that may match nothing make its epsilon
 * closures grow faster than linearly), six for an empty group; x+ is two x
 * and a star; x{n} is n copies of x, x{m,n} m copies and n - m optional
 * ones, x{m,} m copies and a starred one; nested repetitions multiply.
 * Every repetition counts all it builds, also what a later "{0}" drops.
 * The config loader bounds it before compiling. The count stops growing
 * past cap: cap + 1 means more (or out of memory). The same pass sets
 * *hazards (when not NULL) to the FD_REGEX_* hazards pattern holds. */
size_t fd_regex_nodes(const char *pattern, size_t cap, unsigned *hazards);

/* What one event did to a lead's score. */
typedef struct fd_score_delta {
        int32_t fit;
        int32_t engagement;
} fd_score_delta;

/* Applies every rule of model to event le. awarded[i] is the running total
 * rule i has already given this lead in this cycle (rule_cnt entries); it is
 * updated. Returns the change to fit and engagement. */
fd_score_delta fd_score_apply(const fd_score_model *model,
                              const fd_lead_event *le, int32_t *awarded);

/* The engagement score decayed from event time from_ms to to_ms (no change
 * unless to_ms > from_ms). linear: every boundary of the fixed periods
 * (decay_ms long, counted from 1970-01-01 UTC) between the two takes
 * decay_points off, never past 0; half_life: multiplied by
 * 2^-(to - from) / decay_ms, rounded to the nearest integer. Fit does not
 * decay. */
int32_t fd_score_decay(const fd_score_model *model, int32_t engagement,
                       int64_t from_ms, int64_t to_ms);

/* scoring.decay = expire keeps, per lead, the engagement points of each
 * event that earned some: a list "AT:POINTS,AT:POINTS,..." (event time in
 * ms) in time order, at most FD_SCORE_AWARDS_MAX entries. */
#define FD_SCORE_AWARDS_MAX 256

/* 1 when the model's points expire (scoring.decay = expire). */
int fd_score_expires(const fd_score_model *model);

/* Takes the entries with AT + ttl_ms <= now_ms out of *list (NULL: empty;
 * set to NULL when it becomes empty) and returns the sum of their points;
 * INT64_MIN when out of memory (then *list is unchanged). */
int64_t fd_score_expire(char **list, int64_t now_ms, int64_t ttl_ms);

/* Adds an entry to *list in time order (after entries of the same time).
 * A list already holding FD_SCORE_AWARDS_MAX entries merges its two oldest
 * into one at the later time, so those points count a little longer. 0, or
 * -1 when out of memory. */
int fd_score_award(char **list, int64_t at_ms, int32_t points);

/* 1 when fit/engagement meet the MQL condition. */
int fd_score_is_mql(const fd_mql_condition *mql, int32_t fit,
                    int32_t engagement);

/* 1 when event type is a hand-raise (demo_request, contact_sales, ...). */
int fd_score_is_handraise(const fd_score_model *model, const char *type);

/* Releases the rules and lists of model (not model itself). */
void fd_score_model_clear(fd_score_model *model);

#endif
