/* funneld — scoring rule sections: "[rule.NAME]" and
 * "[tenant.ID.rule.NAME]" assembled key by key, checked, compiled. */
#include <stdlib.h>
#include <string.h>

#include "config_internal.h"

typedef struct rule_key_doc {
        const char *name;
        const char *doc;
} rule_key_doc;

static const rule_key_doc rule_docs[] = {
        {"kind", "Required. `fit` (who the lead is: title, company, "
                 "industry) or `engagement` (what the lead does)."},
        {"event_type", "Optional. The rule matches only lead events of this "
                       "type (page_view, demo_request, ...); unset: any "
                       "type."},
        {"attribute", "Optional. The event attribute the condition tests "
                      "(job_title, company_size, industry, country, ...). "
                      "An event without the attribute does not match."},
        {"match", "Required with `attribute`. `exact` (equal, "
                  "case-sensitive), `set` (equal to one of `values`, "
                  "case-sensitive), `contains` (substring, "
                  "case-insensitive), `regex` (POSIX extended regular "
                  "expression, case-insensitive; no back-references, no "
                  "repetition of what can match the empty string such as "
                  "`(a*)*`; at most 1000 compiled nodes, about one per "
                  "character, with `x{n}` counting x and n copies and "
                  "`*`, `?` three, and 10000 for all regexes of the "
                  "file)."},
        {"value", "The operand of `exact`, `contains` and `regex`."},
        {"values", "The comma list of `set`."},
        {"points", "Required, non-zero, -10000 .. 10000. Added to the score "
                   "each time the rule matches; negative points subtract."},
        {"cap", "Optional, 0 .. 1000000. The most the rule may add (or "
                "subtract) for one lead in one lifecycle cycle; the last "
                "award is cut to what is left. 0: no cap. Default: "
                "the absolute value of `points` for fit rules (a profile fact "
                "counts once), no "
                "cap for engagement rules."},
};

const char *const fd_rule_key_names[] = {"kind",   "event_type", "attribute",
                                         "match",  "value",      "values",
                                         "points", "cap"};
const size_t fd_rule_key_cnt =
        sizeof(fd_rule_key_names) / sizeof(fd_rule_key_names[0]);

/* rb owns a copy of name; release with fd_rule_build_clear(). */
int fd_rule_build_init(fd_rule_build *rb, const char *name, int line)
{
        memset(rb, 0, sizeof(*rb));
        rb->kind = -1;
        rb->match = -1;
        rb->line = line;
        rb->name = strdup(name);
        return rb->name ? 0 : -1;
}

/* Releases what rb owns and zeroes it. */
void fd_rule_build_clear(fd_rule_build *rb)
{
        free(rb->name);
        free(rb->event_type);
        free(rb->attr);
        free(rb->value);
        fd_cfg_strv_free(rb->values, rb->value_cnt);
        memset(rb, 0, sizeof(*rb));
}

/* Replaces *field with a copy of value; the old string is freed. */
static int set_str(char **field, const char *value)
{
        char *copy = strdup(value);

        if (!copy)
                return -1;
        free(*field);
        *field = copy;
        return 0;
}

static int set_int(const fd_rule_build *rb, const char *key, const char *value,
                   int64_t min, int64_t max, int32_t *out, char *err,
                   size_t err_size)
{
        int64_t v;
        int points = strcmp(key, "points") == 0;

        if (fd_cfg_parse_i64(value, &v) < 0 || v < min || v > max ||
            (points && v == 0)) {
                snprintf(err, err_size,
                         "rule '%s': key '%s' must be %s integer between "
                         "%lld and %lld, got '%s'",
                         rb->name, key, points ? "a non-zero" : "an",
                         (long long)min, (long long)max, value);
                return -1;
        }
        *out = (int32_t)v;
        return 0;
}

static int set_enum(const fd_rule_build *rb, const char *key, const char *value,
                    const char *const *names, size_t cnt, int *out, char *err,
                    size_t err_size)
{
        for (size_t i = 0; i < cnt; i++) {
                if (strcmp(value, names[i]) == 0) {
                        *out = (int)i;
                        return 0;
                }
        }
        snprintf(err, err_size, "rule '%s': key '%s' must be %s, got '%s'",
                 rb->name, key,
                 cnt == 2 ? "fit or engagement"
                          : "exact, set, contains or regex",
                 value);
        return -1;
}

/* Replaces rb->values with a new list split from value (owned by rb). */
static int set_values(fd_rule_build *rb, const char *value, char *err,
                      size_t err_size)
{
        size_t cnt = 0;
        char **v = fd_cfg_split_list(value, &cnt);

        if (!v) {
                snprintf(err, err_size,
                         "rule '%s': key 'values' must be a comma list of "
                         "non-empty values, got '%s'",
                         rb->name, value);
                return -1;
        }
        fd_cfg_strv_free(rb->values, rb->value_cnt);
        rb->values = v;
        rb->value_cnt = cnt;
        return 0;
}

int fd_rule_build_set(fd_rule_build *rb, const char *key, const char *value,
                      int line, char *err, size_t err_size)
{
        static const char *const kinds[] = {"fit", "engagement"};
        static const char *const matches[] = {"exact", "set", "contains",
                                              "regex"};
        const char *near;
        int m;

        if (!*value) {
                snprintf(err, err_size,
                         "rule '%s': key '%s' has an empty value; give a "
                         "value or remove the line",
                         rb->name, key);
                return -1;
        }
        if (strcmp(key, "kind") == 0)
                return set_enum(rb, key, value, kinds, 2, &rb->kind, err,
                                err_size);
        if (strcmp(key, "match") == 0) {
                rb->match_line = line;
                if (set_enum(rb, key, value, matches, 4, &m, err, err_size) < 0)
                        return -1;
                rb->match = m + 1; /* FD_MATCH_EXACT is 1 */
                return 0;
        }
        if (strcmp(key, "points") == 0) {
                if (set_int(rb, key, value, -10000, 10000, &rb->points, err,
                            err_size) < 0)
                        return -1;
                rb->points_set = 1;
                return 0;
        }
        if (strcmp(key, "cap") == 0) {
                if (set_int(rb, key, value, -1000000, 1000000, &rb->cap, err,
                            err_size) < 0)
                        return -1;
                rb->cap = rb->cap < 0 ? -rb->cap : rb->cap;
                rb->cap_set = 1;
                return 0;
        }
        if (strcmp(key, "values") == 0) {
                rb->values_line = line;
                return set_values(rb, value, err, err_size);
        }
        if (strcmp(key, "event_type") == 0)
                return set_str(&rb->event_type, value);
        if (strcmp(key, "attribute") == 0) {
                rb->attr_line = line;
                return set_str(&rb->attr, value);
        }
        if (strcmp(key, "value") == 0) {
                rb->value_line = line;
                return set_str(&rb->value, value);
        }
        near = fd_cfg_closest(key, fd_rule_key_names, fd_rule_key_cnt);
        snprintf(err, err_size,
                 "rule '%s': unknown key '%s'%s%s%s; a rule takes kind, "
                 "event_type, attribute, match, value, values, points, cap",
                 rb->name, key, near ? " (did you mean '" : "",
                 near ? near : "", near ? "'?)" : "");
        return -1;
}

/* Checks kind, points and the attribute/match pairing. 0, or -1 with
 * *line and err set. */
static int check_rule_basic(const fd_rule_build *rb, int *line, char *err,
                            size_t n)
{
        *line = rb->line;
        if (rb->kind < 0) {
                snprintf(err, n,
                         "rule '%s' has no 'kind'; add 'kind = fit' or "
                         "'kind = engagement'",
                         rb->name);
                return -1;
        }
        if (!rb->points_set) {
                snprintf(err, n,
                         "rule '%s' has no 'points'; add for example "
                         "'points = 5' (negative points subtract)",
                         rb->name);
                return -1;
        }
        if (rb->attr && rb->match < 0) {
                *line = rb->attr_line;
                snprintf(err, n,
                         "rule '%s' sets 'attribute' but no 'match'; add "
                         "'match = exact', 'set', 'contains' or 'regex'",
                         rb->name);
                return -1;
        }
        if (!rb->attr && rb->match >= 0) {
                *line = rb->match_line;
                snprintf(err, n,
                         "rule '%s' sets 'match' but no 'attribute'; add "
                         "'attribute = NAME' or remove 'match'",
                         rb->name);
                return -1;
        }
        if (!rb->attr && (rb->value || rb->values)) {
                *line = rb->value ? rb->value_line : rb->values_line;
                snprintf(err, n,
                         "rule '%s' sets a value but no 'attribute'; add "
                         "'attribute = NAME' and 'match = ...'",
                         rb->name);
                return -1;
        }
        return 0;
}

/* Checks that the operands fit the match kind. 0, or -1 with *line and err
 * set. */
static int check_rule_operands(const fd_rule_build *rb, int *line, char *err,
                               size_t n)
{
        const char *what = NULL;

        if (rb->match == FD_MATCH_SET && rb->value) {
                *line = rb->value_line;
                what = "has 'match = set', which takes 'values = a,b,c'; "
                       "rename 'value' to 'values'";
        } else if (rb->match == FD_MATCH_SET && !rb->values) {
                *line = rb->match_line;
                what = "has 'match = set' but no 'values'; add "
                       "'values = a,b,c'";
        } else if (rb->match > FD_MATCH_ANY && rb->match != FD_MATCH_SET &&
                   rb->values) {
                *line = rb->values_line;
                what = "sets 'values', which belongs to 'match = set'; use "
                       "'value = ...' for a single operand";
        } else if (rb->match > FD_MATCH_ANY && rb->match != FD_MATCH_SET &&
                   !rb->value) {
                *line = rb->match_line;
                what = "has a 'match' but no 'value'; add 'value = ...'";
        }
        if (!what)
                return 0;
        snprintf(err, n, "rule '%s' %s", rb->name, what);
        return -1;
}

static int check_rule(const fd_rule_build *rb, int *line, char *err, size_t n)
{
        if (check_rule_basic(rb, line, err, n) < 0)
                return -1;
        return check_rule_operands(rb, line, err, n);
}

/* Releases the strings of r (not its regex) and zeroes it. */
static void rule_release(fd_score_rule *r)
{
        free(r->name);
        free(r->field);
        free(r->event_type);
        free(r->attr);
        fd_cfg_strv_free(r->values, r->value_cnt);
        memset(r, 0, sizeof(*r));
}

/* Duplicates the strings of a rule into out, which then owns them (match
 * left at ANY, so no regex to free). */
static int rule_dup_strings(fd_score_rule *out, const char *name,
                            const char *event_type, const char *attr,
                            char *const *values, size_t cnt)
{
        memset(out, 0, sizeof(*out));
        size_t field_size = sizeof("rule:") + strlen(name);
        out->name = strdup(name);
        out->field = malloc(field_size);
        if (out->field)
                snprintf(out->field, field_size, "rule:%s", name);
        out->event_type = event_type ? strdup(event_type) : NULL;
        out->attr = attr ? strdup(attr) : NULL;
        out->values = cnt ? calloc(cnt, sizeof(char *)) : NULL;
        if (!out->name || !out->field || (event_type && !out->event_type) ||
            (attr && !out->attr) || (cnt && !out->values))
                goto fail;
        for (size_t i = 0; i < cnt; i++) {
                out->values[i] = strdup(values[i]);
                out->value_cnt = i + 1;
                if (!out->values[i])
                        goto fail;
        }
        return 0;
fail:
        rule_release(out);
        return -1;
}

/* Compiles r->values[0] into r->rx (released by fd_score_model_clear when
 * match is REGEX). A pattern that compiles to more than
 * FD_REGEX_MAX_NODES, or to more than what is left of *budget (all regexes
 * of the file together), is refused before regcomp (fd_regex_nodes):
 * glibc copies what {n} repeats n times, so "((a{99}){99}){99}" alone
 * takes gigabytes. Back-references are refused too (matching them can
 * take exponential time on an attribute value), and repetitions of what
 * may match nothing (compiling them can). */
static int compile_regex(fd_score_rule *r, size_t *budget, char *err,
                         size_t err_size)
{
        char msg[160];
        const char *pattern = r->values[0];
        unsigned hazards;
        size_t n = fd_regex_nodes(pattern, FD_REGEX_MAX_NODES, &hazards);

        if (n > FD_REGEX_MAX_NODES) {
                snprintf(err, err_size,
                         "rule '%s': regex '%s' is too large: it compiles to "
                         "more than %d nodes (x{n} repeats x n times, nested "
                         "repetitions multiply); use smaller bounds, fewer "
                         "nested repetitions or 'match = contains'",
                         r->name, pattern, FD_REGEX_MAX_NODES);
                return -1;
        }
        if (n > *budget) {
                snprintf(err, err_size,
                         "rule '%s': regex '%s' takes the regexes of this "
                         "file past %d nodes in all; use fewer or smaller "
                         "regexes, or 'match = contains' or 'set'",
                         r->name, pattern, FD_REGEX_MAX_TOTAL);
                return -1;
        }
        if (hazards & FD_REGEX_BACKREF) {
                snprintf(err, err_size,
                         "rule '%s': regex '%s' uses a back-reference (\\1 "
                         "to \\9), whose matching can take exponential time; "
                         "write it without one",
                         r->name, pattern);
                return -1;
        }
        if (hazards & FD_REGEX_EMPTY_LOOP) {
                snprintf(err, err_size,
                         "rule '%s': regex '%s' repeats something that can "
                         "match the empty string (like \"(a*)*\", "
                         "\"(a?){3}\" or \"()+\"), which can take regcomp "
                         "exponential time; repeat only what matches at least "
                         "one character (\"(a*)*\" is \"a*\")",
                         r->name, pattern);
                return -1;
        }
        r->rx = fd_rule_regex_new(pattern, msg, sizeof(msg));
        if (!r->rx) {
                snprintf(err, err_size,
                         "rule '%s': regex '%s' does not compile (%s); fix the "
                         "POSIX extended regular expression",
                         r->name, pattern, msg);
                return -1;
        }
        *budget -= n;
        return 0;
}

/* out owns new copies of rb's strings and its compiled regex. */
int fd_rule_build_finish(const fd_rule_build *rb, fd_score_rule *out,
                         size_t *regex_budget, int *err_line, char *err,
                         size_t err_size)
{
        char *one[1];
        char *const *vals = rb->values;
        size_t cnt = rb->value_cnt;

        if (check_rule(rb, err_line, err, err_size) < 0)
                return -1;
        if (rb->value) {
                one[0] = rb->value;
                vals = one;
                cnt = 1;
        }
        if (rule_dup_strings(out, rb->name, rb->event_type, rb->attr, vals,
                             cnt) < 0) {
                snprintf(err, err_size, "out of memory");
                return -1;
        }
        out->kind = (fd_score_kind)rb->kind;
        out->points = rb->points;
        out->cap = rb->cap_set ? rb->cap
                   : rb->kind == FD_SCORE_FIT
                           ? (rb->points < 0 ? -rb->points : rb->points)
                           : 0;
        if (rb->match == FD_MATCH_REGEX &&
            compile_regex(out, regex_budget, err, err_size) < 0) {
                *err_line = rb->value_line;
                rule_release(out);
                return -1;
        }
        out->match = rb->match < 0 ? FD_MATCH_ANY : (fd_match_kind)rb->match;
        return 0;
}

/* dst owns new copies of src's strings and shares its compiled regex. */
int fd_score_rule_copy(fd_score_rule *dst, const fd_score_rule *src)
{
        if (rule_dup_strings(dst, src->name, src->event_type, src->attr,
                             src->values, src->value_cnt) < 0)
                return -1;
        dst->kind = src->kind;
        dst->points = src->points;
        dst->cap = src->cap;
        if (src->match == FD_MATCH_REGEX) {
                dst->rx = src->rx;
                dst->rx->refs++;
        }
        dst->match = src->match;
        return 0;
}

/* dst->rules is a new array owned by dst; on failure the copied part is
 * counted in dst->rule_cnt, so fd_score_model_clear() releases it. */
int fd_score_model_copy_rules(fd_score_model *dst, const fd_score_model *src)
{
        dst->rules = src->rule_cnt ? calloc(src->rule_cnt, sizeof(*dst->rules))
                                   : NULL;
        dst->rule_cnt = 0;
        if (src->rule_cnt && !dst->rules)
                return -1;
        for (size_t i = 0; i < src->rule_cnt; i++) {
                if (fd_score_rule_copy(&dst->rules[i], &src->rules[i]) < 0)
                        return -1;
                dst->rule_cnt = i + 1;
        }
        return 0;
}

void fd_cfg_print_rule_reference(FILE *fp)
{
        fputs("## Scoring rules\n\n"
              "A rule is a section `[rule.NAME]` (the default model) or "
              "`[tenant.ID.rule.NAME]` (that tenant's model). NAME is "
              "letters, digits, `_` and `-`, unique in its model; it names "
              "the rule's cap counter. A rule matches an event when the "
              "event type and the attribute condition (both optional) "
              "match; it then adds its points to the fit or engagement "
              "score, within its cap.\n\n"
              "| key | meaning |\n|---|---|\n",
              fp);
        for (size_t i = 0; i < sizeof(rule_docs) / sizeof(rule_docs[0]); i++)
                fprintf(fp, "| `%s` | %s |\n", rule_docs[i].name,
                        rule_docs[i].doc);
        fputs("\nA lead becomes an MQL when its scores meet every set "
              "`mql.*` threshold, once per lifecycle cycle; a hand-raise "
              "event (`handraise.types`) makes it an SQL.\n\n"
              "Example:\n\n"
              "```ini\n"
              "[rule.pricing]\n"
              "kind = engagement\n"
              "event_type = pricing_page_view\n"
              "points = 10\n"
              "cap = 30\n\n"
              "[rule.senior_title]\n"
              "kind = fit\n"
              "attribute = job_title\n"
              "match = contains\n"
              "value = director\n"
              "points = 15\n"
              "```\n\n"
              "## Tenants\n\n"
              "One deployment serves many tenants. `[tenant.ID]` (ID "
              "without dots, as in the events' tenant_id) overrides, for "
              "that tenant only, these keys: ",
              fp);
        for (size_t i = 0, n = 0; i < fd_cfg_key_cnt; i++) {
                if (fd_cfg_keys[i].tenant)
                        fprintf(fp, "%s`%s`", n++ ? ", " : "",
                                fd_cfg_keys[i].name);
        }
        fputs(". Keys a tenant does not set take the value of the top-level "
              "key (or its default), wherever in the file it appears. "
              "Rules in `[tenant.ID.rule.NAME]` sections replace the default "
              "rules for that tenant; a tenant without rules of its own "
              "uses the default rules. Events of tenants without a section "
              "use the defaults.\n\n"
              "```ini\n"
              "[tenant.acme]\n"
              "timezone = America/New_York\n"
              "mql.min_total = 60\n"
              "```\n",
              fp);
}
