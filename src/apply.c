/* funneld — event semantics: identity, touches, scoring, lifecycle, counters.
 * Attribution of a closed-won is in close.c. */
#include "apply.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "close.h"
#include "cold.h"
#include "fmt.h"
#include "funneld/lifecycle.h"
#include "funneld/score.h"
#include "funneld/timebucket.h"
#include "keys.h"
#include "lead.h"
#include "log.h"
#include "outbox.h"
#include "validate.h"

/* An event string and its kept length. */
#define EV_SV(e, f) ((fd_sv){(e)->f, fd_ev_len((e)->f, (e)->len.f)})

fd_ev_ids fd_apply_event_ids(const fd_event *ev)
{
        if (ev->kind == FD_EV_CRM) {
                const fd_crm_event *ce = &ev->u.crm;
                return (fd_ev_ids){EV_SV(ce, tenant_id), EV_SV(ce, event_id),
                                   EV_SV(ce, lead_id)};
        }
        if (ev->kind == FD_EV_SPEND) {
                const fd_spend_event *se = &ev->u.spend;
                return (fd_ev_ids){
                        EV_SV(se, tenant_id), EV_SV(se, event_id), {NULL, 0}};
        }
        const fd_lead_event *le = &ev->u.lead;
        return (fd_ev_ids){EV_SV(le, tenant_id), EV_SV(le, event_id),
                           EV_SV(le, lead_id)};
}

int64_t fd_apply_clock(const fd_processor *proc, int32_t partition)
{
        if (partition < 0 || (size_t)partition >= proc->part_cnt)
                return INT64_MIN;
        return proc->parts[partition].clock;
}

/* Counter keys built from parts, without a format per key: the keys of one
 * lead's counters share their start "P:{T}:" (ck_base), and each is that
 * start and a few parts (ck_key), then "\0field" (ck_add). In
 * proc->scratch. Each part is an fd_sv: literals' lengths are known where
 * they are written, the event's strings' kept by the decoder. */

/* Starts a key with "P:{T}:"; its length in *base. */
static int ck_base(fd_processor *proc, fd_sv tenant, size_t *base)
{
        fd_buf *k = &proc->scratch;
        fd_buf_reset(k);
        if (fd_buf_append(k, proc->prefix, proc->prefix_len) ||
            fd_buf_append(k, ":{", 2) || fd_buf_append(k, tenant.s, tenant.n) ||
            fd_buf_append(k, "}:", 2))
                return -1;
        *base = k->len;
        return 0;
}

/* The key of the base and parts. */
static int ck_key(fd_processor *proc, size_t base, const fd_sv *parts,
                  size_t cnt)
{
        fd_buf *k = &proc->scratch;
        int rc = 0;
        k->len = base;
        for (size_t i = 0; i < cnt; i++)
                rc |= fd_buf_append(k, parts[i].s, parts[i].n);
        return rc;
}

/* The entry of the key and field (member) in map; NULL when out of memory.
 * The key stays for another field. */
static fd_strmap_entry *ck_add2(fd_processor *proc, fd_strmap *map,
                                const char *f1, size_t n1, const char *f2,
                                size_t n2)
{
        fd_buf *k = &proc->scratch;
        size_t n = 1 + n1 + n2;
        int created;
        /* "\0" f1 f2 past the key, without moving k->len: one room check
         * (some 4 counters per event; k ends in the NUL written). */
        if (fd_buf_ensure(k, n) != 0)
                return NULL;
        char *d = k->data + k->len;
        d[0] = '\0';
        fd_copy(d + 1, f1, n1);
        fd_copy(d + 1 + n1, f2, n2);
        return fd_strmap_upsert(map, k->data, k->len + n, &created);
}

static fd_strmap_entry *ck_add(fd_processor *proc, fd_strmap *map,
                               const char *field, size_t flen)
{
        return ck_add2(proc, map, field, flen, NULL, 0);
}

/* Adds delta to counter field f1 f2 (n2 0: f1 alone) of the key built. */
static int ck_count2(fd_processor *proc, const char *f1, size_t n1,
                     const char *f2, size_t n2, int64_t delta)
{
        fd_strmap_entry *e = ck_add2(proc, &proc->counters, f1, n1, f2, n2);
        if (!e)
                return -1;
        e->i64 += delta;
        return 0;
}

static int ck_count(fd_processor *proc, const char *field, size_t flen,
                    int64_t delta)
{
        return ck_count2(proc, field, flen, NULL, 0, delta);
}

/* Formats the key of keyfmt and ap into proc->scratch. */
static int count_vkey(fd_processor *proc, const char *keyfmt, va_list ap)
{
        fd_buf *k = &proc->scratch;
        va_list again;
        int n;

        /* The key, formatted straight into the scratch buffer. */
        fd_buf_reset(k);
        if (fd_buf_ensure(k, 512) != 0)
                return -1;
        va_copy(again, ap);
        n = fd_vfmt(k->data, k->cap, keyfmt, ap);
        if (n >= 0 && (size_t)n >= k->cap) {
                /* A long redis.prefix: room for it, then format again. */
                if (fd_buf_reserve(k, (size_t)n) != 0)
                        n = -1;
                else
                        fd_vfmt(k->data, (size_t)n + 1, keyfmt, again);
        }
        va_end(again);
        if (n < 0)
                return -1;
        k->len = (size_t)n;
        return 0;
}

int fd_apply_count_key(fd_processor *proc, const char *keyfmt, ...)
{
        va_list ap;
        int rc;

        va_start(ap, keyfmt);
        rc = count_vkey(proc, keyfmt, ap);
        va_end(ap);
        return rc;
}

int fd_apply_count_field(fd_processor *proc, const char *f1, const char *f2,
                         int64_t delta)
{
        return ck_count2(proc, f1, strlen(f1), f2, f2 ? strlen(f2) : 0, delta);
}

/* Adds delta to counter field of key (printf-formatted key). */
int fd_apply_count(fd_processor *proc, const char *field, int64_t delta,
                   const char *keyfmt, ...)
{
        va_list ap;
        int rc;

        va_start(ap, keyfmt);
        rc = count_vkey(proc, keyfmt, ap);
        va_end(ap);
        return rc || fd_apply_count_field(proc, field, NULL, delta);
}

/* Adds member to the set at key. */
static int add_member(fd_processor *proc, const char *key, const char *member)
{
        fd_buf *k = &proc->scratch;
        fd_buf_reset(k);
        return fd_buf_append(k, key, strlen(key)) ||
                               !ck_add(proc, &proc->sets, member,
                                       strlen(member))
                       ? -1
                       : 0;
}

/* The buckets of local hours already formatted, by zone: a batch's events
 * fall in a few hours of a few zones, a replay's in many (the processing
 * thread's only). Direct-mapped by the UTC hour and the zone: one slot to
 * check per lookup; a local hour that straddles two UTC hours (a zone
 * offset of :30 or :45) takes a slot for each. */
#define BUCKET_MEMO 64
#define HOUR_MS     3600000
static struct bucket_slot {
        char zone[64]; /* "" unused */
        int64_t lo, hi;
        fd_bucket b;
} bucket_memo[BUCKET_MEMO];

void fd_apply_bucket(const fd_tenant_conf *tconf, int64_t ms, fd_bucket *b)
{
        const char *tz = tconf->timezone;
        /* The slot: a hint (what is compared is the span and the zone's
         * name), so times before 1970 need no floor division, and the
         * zone's address stands for the zone. */
        struct bucket_slot *slot =
                &bucket_memo[((uint64_t)ms / HOUR_MS ^ (uintptr_t)tz >> 4) %
                             BUCKET_MEMO];
        fd_local_time lt;
        int64_t lo, hi;
        if (tz && ms >= slot->lo && ms < slot->hi &&
            strcmp(slot->zone, tz) == 0) {
                *b = slot->b;
                return;
        }
        if (fd_local_time_span(tz, ms, &lt, &lo, &hi) != 0) {
                tz = "UTC";
                fd_local_time_span(tz, ms, &lt, &lo, &hi);
        }
        /* "YYYY-MM-DD", "YYYY-MM", "HH" without printf. */
        int y = lt.year % 10000, m = lt.month % 100, d = lt.day % 100;
        char *o = b->day;
        *o++ = (char)('0' + y / 1000);
        *o++ = (char)('0' + y / 100 % 10);
        *o++ = (char)('0' + y / 10 % 10);
        *o++ = (char)('0' + y % 10);
        *o++ = '-';
        *o++ = (char)('0' + m / 10);
        *o++ = (char)('0' + m % 10);
        memcpy(b->month, b->day, 7);
        b->month[7] = '\0';
        *o++ = '-';
        *o++ = (char)('0' + d / 10);
        *o++ = (char)('0' + d % 10);
        *o = '\0';
        b->hour[0] = (char)('0' + lt.hour % 100 / 10);
        b->hour[1] = (char)('0' + lt.hour % 10);
        b->hour[2] = '\0';
        size_t zlen;
        if (lo < hi && tz == tconf->timezone &&
            (zlen = strlen(tz)) < sizeof(slot->zone)) {
                memcpy(slot->zone, tz, zlen + 1);
                slot->lo = lo;
                slot->hi = hi;
                slot->b = *b;
        }
}

/* The cohort months of lead: the month it was created in and, when it
 * entered MQL in its current cycle, that month ("" when not). */
static void cohort_months(const fd_lead *lead, char lead_month[12],
                          char mql_month[12])
{
        fd_bucket b;
        lead_month[0] = mql_month[0] = '\0';
        if (lead->created_at) {
                fd_apply_bucket(lead->tconf, lead->created_at, &b);
                memcpy(lead_month, b.month, sizeof(b.month));
        }
        if (lead->lc.entered_at[FD_STAGE_MQL]) {
                fd_apply_bucket(lead->tconf, lead->lc.entered_at[FD_STAGE_MQL],
                                &b);
                memcpy(mql_month, b.month, sizeof(b.month));
        }
}

/* Adds delta to field of the lead's cohorts: P:{T}:cohort:lead:<created
 * month> and, for what follows an MQL entry, P:{T}:cohort:mql:<MQL month>. */
static int count_cohorts(fd_processor *proc, const fd_lead *lead,
                         const char *field, int64_t delta, int with_mql)
{
        char lm[12], mm[12];
        size_t base, flen = strlen(field);
        int rc = 0;
        cohort_months(lead, lm, mm);
        if (!lm[0] && !(with_mql && mm[0]))
                return 0;
        if (ck_base(proc, FD_LEAD_TENANT(lead), &base))
                return -1;
        if (lm[0])
                rc |= ck_key(proc, base,
                             (fd_sv[]){FD_SV("cohort:lead:"),
                                       {lm, FD_BUCKET_MONTH_LEN}},
                             2) ||
                      ck_count(proc, field, flen, delta);
        if (with_mql && mm[0])
                rc |= ck_key(proc, base,
                             (fd_sv[]){FD_SV("cohort:mql:"),
                                       {mm, FD_BUCKET_MONTH_LEN}},
                             2) ||
                      ck_count(proc, field, flen, delta);
        return rc;
}

/* Counts one stage entry in every documented stage counter. */
static int count_entry(fd_processor *proc, const fd_lead *lead,
                       const fd_stage_entry *en)
{
        const char *s = fd_stage_name(en->stage);
        const fd_sv dim_names[3] = {FD_SV("channel"), FD_SV("campaign"),
                                    FD_SV("persona")};
        const char *dim_values[3] = {lead->source_channel ? lead->source_channel
                                                          : "unknown",
                                     lead->source_campaign, lead->persona};
        fd_bucket b;
        size_t base;
        int rc = 0;

        fd_apply_bucket(lead->tconf, en->at, &b);
        if (ck_base(proc, FD_LEAD_TENANT(lead), &base))
                return -1;
        fd_sv st = {s, fd_stage_name_len(en->stage)},
              day = {b.day, FD_BUCKET_DAY_LEN},
              month = {b.month, FD_BUCKET_MONTH_LEN};
        rc |= ck_key(proc, base, (fd_sv[]){FD_SV("daily:"), st}, 2) ||
              ck_count(proc, day.s, day.n, 1);
        rc |= ck_key(proc, base, (fd_sv[]){FD_SV("monthly:"), st}, 2) ||
              ck_count(proc, month.s, month.n, 1);
        rc |= ck_key(proc, base,
                     (fd_sv[]){FD_SV("hourly:"), st, FD_SV(":"), day}, 4) ||
              ck_count(proc, b.hour, FD_BUCKET_HOUR_LEN, 1);
        rc |= ck_key(proc, base, (fd_sv[]){FD_SV("total")}, 1) ||
              ck_count(proc, st.s, st.n, 1);
        if (en->implied) /* "<stage>:implied" of the same key */
                rc |= fd_apply_count_field(proc, s, ":implied", 1);
        for (int i = 0; i < 3; i++) {
                if (!dim_values[i])
                        continue;
                fd_sv dim = dim_names[i], val = fd_sv_of(dim_values[i]);
                rc |= ck_key(proc, base,
                             (fd_sv[]){FD_SV("daily:"), st, FD_SV(":"), dim,
                                       FD_SV(":"), val},
                             6) ||
                      ck_count(proc, day.s, day.n, 1);
                rc |= ck_key(proc, base,
                             (fd_sv[]){FD_SV("monthly:"), st, FD_SV(":"), dim,
                                       FD_SV(":"), month},
                             6) ||
                      ck_count(proc, val.s, val.n, 1);
                rc |= ck_key(proc, base, (fd_sv[]){FD_SV("dim:"), dim}, 2) ||
                      !ck_add(proc, &proc->sets, val.s, val.n);
        }
        rc |= count_cohorts(proc, lead, s, 1, en->stage != FD_STAGE_LEAD);
        return rc ? -1 : 0;
}

/* Queues a promotion event for a stage entry through the outbox. */
static int emit_promotion(fd_processor *proc, const fd_lead *lead,
                          const fd_stage_entry *en, const char *previous,
                          const char *cause, int32_t partition)
{
        char event_id[512], errstr[256];
        fd_promotion pr = {
                .event_id = event_id,
                .tenant_id = lead->tenant_id,
                .lead_id = lead->lead_id,
                .stage = fd_stage_name(en->stage),
                .previous_stage = previous,
                .implied = en->implied,
                .cycle = en->cycle,
                .occurred_at = en->at,
                .cause_event_id = cause,
                .fit_score = lead->fit,
                .engagement_score = lead->engagement,
        };
        fd_fmt(event_id, sizeof(event_id), "%s:%s:%d:%s", lead->tenant_id,
               lead->lead_id, (int)en->cycle, pr.stage);
        fd_buf_reset(&proc->enc);
        if (fd_codec_encode_promotion(proc->codec,
                                      proc->conf->out_schema_id_promotion, &pr,
                                      &proc->enc, errstr, sizeof(errstr))) {
                FD_ERROR("process", "cannot encode a promotion: %s", errstr);
                return -1;
        }
        return fd_apply_outbox(proc, proc->conf->topic_promotions,
                               lead->lead_id, proc->enc.data, proc->enc.len,
                               NULL, 0, partition);
}

/* Adds an encoded entry to the batch's outbox of partition: RPUSHed at
 * flush, with the partition's others (flush_chains). */
static int outbox_add(fd_processor *proc, int32_t partition,
                      const fd_buf *entry)
{
        char key[24];
        size_t n = fd_fmt_i64(key, partition);
        return fd_chains_add(&proc->outbox, key, n, entry->data, entry->len, 0);
}

/* The outbox key of the partition that a chain's key names. */
static int outbox_key(fd_processor *proc, const fd_strmap_entry *e)
{
        return fd_store_outbox_key(proc->store, &proc->writes,
                                   (int32_t)strtol(e->key, NULL, 10));
}

int fd_apply_outbox(fd_processor *proc, const char *topic, const char *key,
                    const void *value, size_t len, const fd_header *hdrs,
                    size_t hdr_cnt, int32_t partition)
{
        fd_buf entry = {0};
        int rc;

        if (proc->quiet)
                return 0; /* a replay catching up (replay.h) */
        rc = fd_outbox_encode(&entry, topic, key, key ? strlen(key) : 0, value,
                              len, hdrs, hdr_cnt) ||
             outbox_add(proc, partition, &entry);
        fd_buf_free(&entry);
        return rc;
}

/* A new lifecycle cycle restarts what the lead earned by behaviour: the
 * engagement score and the caps of the engagement rules. Fit (who the lead
 * is) and the fit rules' counters carry over, so a profile fact still counts
 * once per lead. */
static void restart_engagement(fd_lead *lead)
{
        const fd_score_model *model = &lead->tconf->score;
        lead->engagement = 0;
        fd_lead_set(lead, FD_LEAD_AWARDS, NULL); /* scoring.decay = expire */
        for (size_t i = 0; i < model->rule_cnt; i++)
                if (model->rules[i].kind == FD_SCORE_ENGAGEMENT)
                        lead->awarded[i] = 0;
}

/* The lead left stage `left` (entered, not implied, in this cycle) at `at`:
 * counts the time it spent there in P:{T}:velocity:<left> and per source
 * channel. A negative time (an event older than the entry) counts as 0. */
static int count_velocity(fd_processor *proc, const fd_lead *lead,
                          fd_stage left, int64_t at)
{
        const char *s = fd_stage_name(left);
        const char *ch =
                lead->source_channel ? lead->source_channel : "unknown";
        int64_t d = at - lead->lc.entered_at[left];
        size_t base;
        int rc = 0;

        if (d < 0)
                d = 0;
        const char *bucket = fd_velocity_bucket_field[fd_velocity_bucket(d)];
        const fd_sv fields[3] = {FD_SV("sum_ms"), FD_SV("count"),
                                 fd_sv_of(bucket)};
        const int64_t deltas[3] = {d, 1, 1};
        fd_sv st = {s, fd_stage_name_len(left)};
        /* P:{T}:velocity:<stage> and P:{T}:velocity:<stage>:channel:<ch> */
        const fd_sv keys[2][4] = {
                {FD_SV("velocity:"), st},
                {FD_SV("velocity:"), st, FD_SV(":channel:"), fd_sv_of(ch)}};
        const size_t parts[2] = {2, 4};
        if (ck_base(proc, FD_LEAD_TENANT(lead), &base))
                return -1;
        for (int k = 0; k < 2 && !rc; k++) {
                rc = ck_key(proc, base, keys[k], parts[k]);
                for (int i = 0; i < 3 && !rc; i++)
                        rc = ck_count(proc, fields[i].s, fields[i].n,
                                      deltas[i]);
        }
        return rc;
}

/* Advances lead towards target and records what it entered. */
static int advance(fd_processor *proc, fd_lead *lead, fd_stage target,
                   int recycle, int64_t at, const fd_msg *msg)
{
        fd_stage_entry entries[FD_STAGE__COUNT];
        int cnt = 0, rc = 0;
        fd_stage before = lead->lc.stage;
        int32_t cycle_before = lead->lc.cycle;
        const char *cause = fd_apply_event_ids(&msg->ev).event_id.s;

        int64_t due0 = fd_cold_due(lead, NULL);

        if (fd_lifecycle_advance(&lead->lc, target, recycle, at,
                                 &lead->tconf->lifecycle, entries,
                                 &cnt) == FD_LC_NOOP)
                return 0;
        lead->dirty = 1;
        if (fd_cold_changed(proc, lead, due0, msg->partition))
                return -1;
        if (cycle_before > 0 && lead->lc.cycle > cycle_before)
                restart_engagement(lead);
        else if (before != FD_STAGE_NONE && cnt > 0 &&
                 lead->lc.entered_at[before] &&
                 !(lead->lc.implied_mask & (1u << before)))
                rc = count_velocity(proc, lead, before, entries[0].at);
        for (int i = 0; i < cnt && rc == 0; i++) {
                const char *prev = i > 0 ? fd_stage_name(entries[i - 1].stage)
                                   : before == FD_STAGE_NONE
                                           ? ""
                                           : fd_stage_name(before);
                rc = count_entry(proc, lead, &entries[i]);
                if (rc == 0 && entries[i].stage != FD_STAGE_LEAD) {
                        rc = emit_promotion(proc, lead, &entries[i], prev,
                                            cause, msg->partition);
                        proc->batch_stats.promotions++;
                }
                if (rc == 0 && entries[i].stage == FD_STAGE_CLOSED_WON) {
                        const fd_crm_event *ce = &msg->ev.u.crm;
                        char field[320]; /* currency: at most 256 bytes */
                        fd_fmt(field, sizeof(field), "revenue:%s",
                               fd_close_currency(ce));
                        if (ce->has_amount && ce->amount_minor)
                                rc = count_cohorts(proc, lead, field,
                                                   ce->amount_minor, 1);
                        rc = rc ||
                             fd_close_won(proc, lead, ce, entries[i].at,
                                          entries[i].cycle, msg->partition);
                }
                if (rc == 0 && entries[i].stage == FD_STAGE_CLOSED_LOST)
                        rc = fd_close_journey(proc, lead, entries[i].at, 0);
        }
        return rc;
}

/* The lead of msg's event, loaded in round one. */
static fd_lead *find_lead(fd_processor *proc, const fd_msg *msg)
{
        if (msg->lead)
                return msg->lead; /* the reads' */
        fd_ev_ids id = fd_apply_event_ids(&msg->ev);
        if (fd_strmap_keyn(&proc->scratch, id.tenant, id.lead_id))
                return NULL;
        fd_strmap_entry *e = fd_strmap_get(&proc->leads, proc->scratch.data,
                                           proc->scratch.len);
        return e ? e->ptr : NULL;
}

/* Appends the cnt (at most 4) fields f with '|' (the touch field separator)
 * between them; a '|' in a field becomes '_'. One search for them over the
 * whole: the separators are written after it. 0, or -1 when memory runs
 * out. */
static int touch_fields(fd_buf *out, const fd_sv *f, size_t cnt)
{
        size_t n, sep[3];
        if (cnt == 0 || cnt > 4)
                return -1;
        n = cnt - 1;
        for (size_t i = 0; i < cnt; i++)
                n += f[i].n;
        if (fd_buf_ensure(out, n) != 0)
                return -1;
        char *start = out->data + out->len, *d = start, *bar = start;
        for (size_t i = 0; i < cnt; i++) {
                fd_copy(d, f[i].s, f[i].n);
                d += f[i].n;
                if (i + 1 < cnt) {
                        sep[i] = (size_t)(d - start);
                        *d++ = '_';
                }
        }
        while ((bar = memchr(bar, '|', (size_t)(d - bar))))
                *bar++ = '_';
        for (size_t i = 0; i + 1 < cnt; i++)
                start[sep[i]] = '|';
        out->len += n;
        out->data[out->len] = '\0';
        return 0;
}

/* Adds member with score at to a lead-owned zset of the batch
 * (proc->batch_touches): kind 'l' touches of a lead, 'a' of an anonymous
 * id, 's' score history. Written at flush, one ZADD per zset, and read by
 * a close later in the batch; trim: the zset is also cut to its newest
 * processing.touch_max members at flush (its chain's entry marked). */
static int zset_add(fd_processor *proc, fd_sv tenant, char kind, fd_sv id,
                    const fd_buf *member, int64_t at, int trim)
{
        static char trim_mark; /* an entry's ptr: trim at flush */
        char kd[2] = {kind, '\0'};
        fd_buf *k = &proc->scratch;
        fd_strmap_entry *e;
        if (fd_strmap_keyn(k, tenant, (fd_sv){kd, 1}, id, FD_SV("")) ||
            !(e = fd_chains_put(&proc->batch_touches, k->data, k->len,
                                member->data, member->len, at)))
                return -1;
        if (trim)
                e->ptr = &trim_mark;
        return 0;
}

/* Counts a member added to a lead's zset whose size is at most *bound
 * (-1 unknown); 1 when the zset may now be longer than touch_max (it is
 * trimmed at flush, to at most touch_max). */
static int may_overflow(const fd_processor *proc, int32_t *bound)
{
        if (*bound < 0)
                return 1;
        if (++*bound <= proc->conf->touch_max)
                return 0;
        *bound = proc->conf->touch_max;
        return 1;
}

/* Adds the touch of le under the lead id (lead, whose bound it counts) or
 * the anonymous id (lead NULL). */
static int add_touch(fd_processor *proc, const fd_lead_event *le, fd_lead *lead)
{
        int anon = lead == NULL;
        fd_buf *member = &proc->member;
        const fd_sv fields[4] = {EV_SV(le, event_id),
                                 le->channel ? EV_SV(le, channel)
                                             : FD_SV("unknown"),
                                 EV_SV(le, campaign), EV_SV(le, type)};

        fd_buf_reset(member);
        if (touch_fields(member, fields, 4) != 0)
                return -1;
        return zset_add(proc, EV_SV(le, tenant_id), anon ? 'a' : 'l',
                        anon ? EV_SV(le, anonymous_id) : EV_SV(le, lead_id),
                        member, le->occurred_at,
                        anon || may_overflow(proc, &lead->touches_max));
}

/* Appends v's decimal digits to b. */
static void append_i64(fd_buf *b, int64_t v)
{
        if (fd_buf_ensure(b, 24) != 0)
                return;
        b->len += fd_fmt_i64(b->data + b->len, v);
        b->data[b->len] = '\0';
}

/* Score history: P:{T}:scores:L gets <event time> "event_id|fit|engagement"
 * (the scores after the event) for an event that changed them. */
static int add_score_history(fd_processor *proc, const fd_lead_event *le,
                             fd_lead *lead)
{
        fd_buf *member = &proc->member;

        fd_buf_reset(member);
        if (touch_fields(member, (fd_sv[]){EV_SV(le, event_id)}, 1) != 0)
                return -1;
        fd_buf_append(member, "|", 1);
        append_i64(member, lead->fit);
        fd_buf_append(member, "|", 1);
        append_i64(member, lead->engagement);
        return zset_add(proc, EV_SV(le, tenant_id), 's', EV_SV(le, lead_id),
                        member, le->occurred_at,
                        may_overflow(proc, &lead->scores_max));
}

/* Records that anonymous_id became lead_id (first identify wins); both
 * writes are idempotent, so an id the lead's last stitch wrote is not
 * written again. */
static int stitch(fd_processor *proc, const fd_lead_event *le, fd_lead *lead)
{
        fd_resp *w = &proc->writes;
        fd_buf *k = &proc->scratch;
        if (lead->stitched && strcmp(lead->stitched, le->anonymous_id) == 0)
                return 0;
        fd_str_set(&lead->stitched, le->anonymous_id);
        fd_sv anon = EV_SV(le, anonymous_id);
        if (fd_strmap_keyn(k, EV_SV(le, tenant_id), EV_SV(le, lead_id),
                           FD_SV("")) ||
            fd_chains_add(&proc->batch_anons, k->data, k->len, anon.s, anon.n,
                          0))
                return -1;
        return fd_resp_cmd(w, 4) || fd_resp_str(w, "SET") ||
                               fd_key_alias(w, FD_PROC_PREFIX(proc),
                                            EV_SV(le, tenant_id), anon) ||
                               fd_resp_str(w, le->lead_id) ||
                               fd_resp_str(w, "NX") || fd_resp_cmd(w, 3) ||
                               fd_resp_str(w, "SADD") ||
                               fd_key_anons(w, FD_PROC_PREFIX(proc),
                                            EV_SV(le, tenant_id),
                                            EV_SV(le, lead_id)) ||
                               fd_resp_str(w, le->anonymous_id)
                       ? -1
                       : 0;
}

/* Counts the event's anonymous id as a visitor of its day:
 * PFADD P:{T}:visitors:D (HyperLogLog), grouped per key at flush. base:
 * "P:{T}:" is in proc->scratch (ck_base). */
static int add_visitor(fd_processor *proc, const fd_lead_event *le, size_t base,
                       const char *day)
{
        fd_sv anon = EV_SV(le, anonymous_id);
        return ck_key(proc, base,
                      (fd_sv[]){FD_SV("visitors:"), {day, FD_BUCKET_DAY_LEN}},
                      2) || !ck_add(proc, &proc->hlls, anon.s, anon.n)
                       ? -1
                       : 0;
}

/* Decays an existing lead's engagement from its latest event time to at
 * (scoring.decay); 1 when the score changed. */
static int decay(fd_lead *lead, int64_t at)
{
        const fd_score_model *model = &lead->tconf->score;
        int32_t e;

        if (lead->lc.stage == FD_STAGE_NONE || at <= lead->updated_at)
                return 0;
        if (fd_score_expires(model)) {
                const char *list = lead->awards;
                int64_t gone =
                        fd_score_expire(&lead->awards, at, model->decay_ms);
                if (lead->awards != list) /* a new list (or none) */
                        fd_lead_mark(lead, FD_LEAD_AWARDS);
                if (gone == INT64_MIN)
                        return -1;
                if (gone == 0)
                        return 0;
                lead->engagement = (int32_t)(lead->engagement - gone);
                lead->dirty = 1;
                return 1;
        }
        e = fd_score_decay(model, lead->engagement, lead->updated_at, at);
        if (e == lead->engagement)
                return 0;
        lead->engagement = e;
        lead->dirty = 1;
        return 1;
}

/* scoring.decay = expire: keeps the event's engagement points with its
 * time, to take them off once they are older than scoring.decay_days; an
 * event already that old at the lead's latest time (before: updated_at
 * before this event) earns nothing. */
static int expiring_award(fd_lead *lead, int64_t at, int64_t before,
                          fd_score_delta *d)
{
        if (at <= before - lead->tconf->score.decay_ms) {
                d->engagement = 0;
                return 0;
        }
        fd_lead_mark(lead, FD_LEAD_AWARDS);
        return fd_score_award(&lead->awards, at, d->engagement);
}

static int apply_lead_event(fd_processor *proc, const fd_msg *msg)
{
        const fd_lead_event *le = &msg->ev.u.lead;
        fd_lead *lead = le->lead_id ? find_lead(proc, msg) : NULL;
        if (le->lead_id && !lead)
                return -1;
        /* a lead's tenant settings are those it was loaded with (a new
         * configuration drops the loaded leads) */
        const fd_tenant_conf *tconf =
                lead ? lead->tconf
                     : fd_config_tenant(proc->conf, le->tenant_id);
        fd_bucket b;

        fd_apply_bucket(tconf, le->occurred_at, &b);
        size_t base;
        if (ck_base(proc, EV_SV(le, tenant_id), &base) ||
            ck_key(proc, base,
                   (fd_sv[]){FD_SV("events:"), {b.day, FD_BUCKET_DAY_LEN}},
                   2) ||
            ck_count(proc, le->type, fd_ev_len(le->type, le->len.type), 1))
                return -1;
        if (le->anonymous_id && add_visitor(proc, le, base, b.day))
                return -1;
        if (!lead)
                return add_touch(proc, le, NULL);
        if (add_touch(proc, le, lead))
                return -1;
        if (le->anonymous_id && stitch(proc, le, lead))
                return -1;
        if (fd_cold_check(proc, lead, fd_apply_clock(proc, msg->partition),
                          msg->partition) < 0)
                return -1;
        lead->dirty = 1;
        if (lead->lc.stage == FD_STAGE_NONE ||
            le->occurred_at < lead->created_at) {
                lead->created_at = le->occurred_at;
                fd_lead_set(lead, FD_LEAD_CREATED_EVENT, le->event_id);
        }
        if (lead->lc.stage == FD_STAGE_NONE) {
                fd_lead_set(lead, FD_LEAD_SOURCE_CHANNEL,
                            le->channel ? le->channel : "unknown");
                fd_lead_set(lead, FD_LEAD_SOURCE_CAMPAIGN, le->campaign);
        }
        const char *persona =
                fd_validate_dim(fd_lead_event_attr(le, "persona"));
        if (persona)
                fd_lead_set(lead, FD_LEAD_PERSONA, persona);
        int decayed = decay(lead, le->occurred_at);
        if (decayed < 0)
                return -1;
        int64_t before = lead->updated_at;
        if (le->occurred_at > lead->updated_at)
                lead->updated_at = le->occurred_at;
        /* Only a new lead enters LEAD by activity: re-opening a closed lead
         * is up to CRM stage events (lifecycle.allow_reopen). */
        if (lead->lc.stage == FD_STAGE_NONE &&
            advance(proc, lead, FD_STAGE_LEAD, 0, le->occurred_at, msg))
                return -1;
        fd_score_delta d = fd_score_apply(&tconf->score, le, lead->awarded);
        if (d.engagement && fd_score_expires(&tconf->score) &&
            expiring_award(lead, le->occurred_at, before, &d))
                return -1;
        lead->fit += d.fit;
        lead->engagement += d.engagement;
        if ((d.fit || d.engagement || decayed) &&
            add_score_history(proc, le, lead))
                return -1;
        if (lead->lc.stage == FD_STAGE_LEAD &&
            fd_score_is_mql(&tconf->score.mql, lead->fit, lead->engagement) &&
            advance(proc, lead, FD_STAGE_MQL, 0, le->occurred_at, msg))
                return -1;
        /* A hand-raise promotes an open lead; it does not re-open a closed
         * one. */
        if ((lead->lc.stage == FD_STAGE_LEAD ||
             lead->lc.stage == FD_STAGE_MQL) &&
            fd_score_is_handraise(&tconf->score, le->type) &&
            advance(proc, lead, FD_STAGE_SQL, 0, le->occurred_at, msg))
                return -1;
        return 0;
}

static int apply_crm_event(fd_processor *proc, const fd_msg *msg)
{
        const fd_crm_event *ce = &msg->ev.u.crm;
        fd_lead *lead = find_lead(proc, msg);
        int recycle = fd_stage_is_recycle(ce->stage);
        fd_stage target = recycle ? FD_STAGE_NONE : fd_stage_parse(ce->stage);

        if (!lead)
                return -1;
        if (fd_cold_check(proc, lead, fd_apply_clock(proc, msg->partition),
                          msg->partition) < 0)
                return -1;
        if (lead->lc.stage == FD_STAGE_NONE) {
                if (recycle)
                        return 0; /* nothing to recycle */
                lead->created_at = ce->occurred_at;
                fd_lead_set(lead, FD_LEAD_SOURCE_CHANNEL, "unknown");
        }
        if (decay(lead, ce->occurred_at) < 0)
                return -1;
        if (ce->occurred_at > lead->updated_at) {
                lead->updated_at = ce->occurred_at;
                lead->dirty = 1; /* saved even when the stage is a no-op */
        }
        if (ce->opportunity_id && *ce->opportunity_id &&
            (target == FD_STAGE_OPPORTUNITY || !lead->opportunity_id)) {
                fd_lead_set(lead, FD_LEAD_OPPORTUNITY_ID, ce->opportunity_id);
                lead->dirty = 1;
        }
        if ((target == FD_STAGE_CLOSED_WON || target == FD_STAGE_CLOSED_LOST) &&
            fd_apply_read_touches(proc, msg) != FD_STORE_OK)
                return -1;
        return advance(proc, lead, target, recycle, ce->occurred_at, msg);
}

/* Spend adds to the tenant's cost per currency: all time, in the month and
 * on the day it was spent (its `day`, the tenant's calendar), per channel and
 * per campaign. */
static int apply_spend_event(fd_processor *proc, const fd_spend_event *se)
{
        const char *T = se->tenant_id, *cur = se->currency, *P = proc->prefix;
        char month[8], field[600];
        int rc = 0;

        memcpy(month, se->day, 7); /* validated YYYY-MM-DD */
        month[7] = '\0';
        const char *periods[3] = {"", month, se->day};
        for (int i = 0; i < 3; i++) {
                const char *sep = i ? ":" : "";
                rc |= fd_apply_count(proc, "total", se->amount_minor,
                                     "%s:{%s}:spend:%s%s%s", P, T, cur, sep,
                                     periods[i]);
                rc |= fd_apply_count(proc, "reports", 1, "%s:{%s}:spend:%s%s%s",
                                     P, T, cur, sep, periods[i]);
                fd_fmt(field, sizeof(field), "channel:%s", se->channel);
                rc |= fd_apply_count(proc, field, se->amount_minor,
                                     "%s:{%s}:spend:%s%s%s", P, T, cur, sep,
                                     periods[i]);
                if (!se->campaign)
                        continue;
                fd_fmt(field, sizeof(field), "campaign:%s", se->campaign);
                rc |= fd_apply_count(proc, field, se->amount_minor,
                                     "%s:{%s}:spend:%s%s%s", P, T, cur, sep,
                                     periods[i]);
        }
        return rc ? -1 : 0;
}

/* Largest DLQ value: under Kafka's default 1 MB message limit with room for
 * the headers. */
#define FD_DLQ_MAX_VALUE (512 * 1024)

/* Sends a bad message to the DLQ through the outbox, with reason headers. */
static int dead_letter(fd_processor *proc, const fd_msg *msg)
{
        char part[16], off[32], size[32];
        const char *reason = fd_decode_err_name(msg->err);
        const char *topic = fd_config_topic(proc->conf, msg->topic);
        const fd_bad none = {0}, *bad = msg->bad ? msg->bad : &none;
        const char *err = bad->errmsg ? bad->errmsg : reason;
        /* A value too large for a Kafka message is cut: the DLQ record must
         * be producible, and the whole value stays at its source offset. */
        size_t len = bad->raw_len > FD_DLQ_MAX_VALUE ? FD_DLQ_MAX_VALUE
                                                     : bad->raw_len;
        snprintf(part, sizeof(part), "%d", (int)msg->partition);
        snprintf(off, sizeof(off), "%lld", (long long)msg->offset);
        snprintf(size, sizeof(size), "%zu", bad->raw_len);
        fd_header hdrs[] = {
                {"funneld.reason", reason, strlen(reason)},
                {"funneld.error", err, strlen(err)},
                {"funneld.source.topic", topic, strlen(topic)},
                {"funneld.source.partition", part, strlen(part)},
                {"funneld.source.offset", off, strlen(off)},
                {"funneld.truncated.from", size, strlen(size)},
        };
        fd_buf entry = {0};
        int rc = fd_outbox_encode(&entry, proc->conf->topic_dlq, bad->key,
                                  bad->key_len, bad->raw ? bad->raw : "", len,
                                  hdrs, len < bad->raw_len ? 6 : 5);
        if (rc == 0 && !proc->quiet)
                rc = outbox_add(proc, msg->partition, &entry);
        fd_buf_free(&entry);
        proc->batch_stats.dlq++;
        return rc || fd_apply_count(proc, reason, 1, "%s:stats:%s:dlq",
                                    proc->prefix, fd_store_group(proc->store));
}

/* Adds tenant to P:tenants, unless it was the last one added in the
 * batch (events come in runs of one tenant). */
static int note_tenant(fd_processor *proc, fd_sv tenant)
{
        fd_buf *last = &proc->tenant_noted;
        size_t len = tenant.n;
        if (last->len == len + 1 && memcmp(last->data, tenant.s, len + 1) == 0)
                return 0;
        fd_buf_reset(&proc->enc);
        if (fd_buf_append(&proc->enc, proc->prefix, proc->prefix_len) ||
            fd_buf_append(&proc->enc, ":tenants", 9) ||
            add_member(proc, proc->enc.data, tenant.s))
                return -1;
        fd_buf_reset(last);
        return fd_buf_append(last, tenant.s, len + 1);
}

static const char *const in_field[FD_EV__COUNT] = {
        [FD_EV_LEAD] = "in:lead_events",
        [FD_EV_CRM] = "in:crm_events",
        [FD_EV_SPEND] = "in:spend"};

/* The batch's dedupe entry of tenant's event_id (process.c made it). */
static fd_strmap_entry *seen_entry(fd_processor *proc, fd_sv tenant,
                                   fd_sv event_id)
{
        if (fd_strmap_keyn(&proc->scratch, tenant, event_id))
                return NULL;
        return fd_strmap_get(&proc->seen, proc->scratch.data,
                             proc->scratch.len);
}

int fd_apply_msg(fd_processor *proc, fd_msg *msg)
{
        const char *group = fd_store_group(proc->store);

        if (msg->ev.kind == FD_EV_NONE)
                return dead_letter(proc, msg);
        fd_ev_ids id = fd_apply_event_ids(&msg->ev);
        fd_strmap_entry *e = msg->seen_at
                                     ? &proc->seen.entries[msg->seen_at - 1]
                                     : seen_entry(proc, id.tenant, id.event_id);
        if (!e)
                return -1;
        if (e->i64) {
                msg->duplicate = 1;
                proc->batch_stats.duplicates++;
                return fd_apply_count(proc, "duplicates", 1, "%s:stats:%s",
                                      proc->prefix, group);
        }
        e->i64 = 2; /* its id is written with the batch (process.c) */
        if (note_tenant(proc, id.tenant))
                return -1;
        proc->in_events[msg->ev.kind]++;
        if (msg->late) {
                proc->batch_stats.late++;
                if (fd_apply_count(proc, "late", 1, "%s:stats:%s", proc->prefix,
                                   group))
                        return -1;
        }
        if (msg->ev.kind == FD_EV_SPEND)
                return apply_spend_event(proc, &msg->ev.u.spend);
        return msg->ev.kind == FD_EV_CRM ? apply_crm_event(proc, msg)
                                         : apply_lead_event(proc, msg);
}

/* One PFADD per visitors key with all of the batch's ids of that key. */
static int flush_visitors(fd_processor *proc)
{
        fd_resp *w = &proc->writes;
        size_t n = proc->hlls.cnt;
        int rc = 0;
        if (!n)
                return 0;
        fd_strmap_entry **by_key = fd_strmap_sorted(&proc->hlls);
        if (!by_key)
                return -1;
        for (size_t i = 0, j; i < n && !rc; i = j) {
                size_t kl = strlen(by_key[i]->key);
                for (j = i + 1;
                     j < n && strcmp(by_key[j]->key, by_key[i]->key) == 0; j++)
                        ;
                rc |= fd_resp_cmd(w, 2 + (int)(j - i)) ||
                      fd_resp_str(w, "PFADD") ||
                      fd_resp_arg(w, by_key[i]->key, kl);
                for (size_t k = i; k < j; k++)
                        rc |= fd_resp_arg(w, by_key[k]->key + kl + 1,
                                          by_key[k]->klen - kl - 1);
        }
        free(by_key);
        return rc ? -1 : 0;
}

/* The key of a lead-owned zset, from its chain key "T\0kind\0id\0"
 * (zset_add's). */
static int zset_key(fd_processor *proc, const fd_strmap_entry *e)
{
        fd_sv t = fd_sv_of(e->key);
        const char *kind = e->key + t.n + 1;
        fd_sv id = {kind + 2, e->klen - t.n - 4};
        fd_resp *w = &proc->writes;
        return *kind == 's' ? fd_key_scores(w, FD_PROC_PREFIX(proc), t, id)
                            : fd_key_touches(w, FD_PROC_PREFIX(proc), t,
                                             *kind == 'a', id);
}

/* One command per key of ch: cmd, the key (written by key_of from the
 * chain's key entry), then its values in the order added, with their i64
 * before each when scored (ZADD). */
static int flush_chains(fd_processor *proc, const fd_chains *ch,
                        const char *cmd, int scored,
                        int (*key_of)(fd_processor *, const fd_strmap_entry *))
{
        fd_resp *w = &proc->writes;
        uint32_t *order = NULL;
        size_t cap = 0;
        int rc = 0;
        for (size_t i = 0; i < ch->by_key.cnt && !rc; i++) {
                const fd_strmap_entry *k = &ch->by_key.entries[i];
                long n = fd_chains_order(ch, k->i64, &order, &cap);
                rc = n < 0 || fd_resp_cmd(w, 2 + (scored ? 2 : 1) * (int)n) ||
                     fd_resp_str(w, cmd) || key_of(proc, k);
                for (long j = 0; j < n && !rc; j++) {
                        const fd_chain_item *t = &ch->items[order[j]];
                        rc = (scored && fd_resp_i64(w, t->at)) ||
                             fd_resp_arg(w, ch->values.data + t->off, t->len);
                }
        }
        free(order);
        return rc ? -1 : 0;
}

/* The deadline set that a group key "w\0p\0" (due_writes') names. */
static int due_key_of(fd_processor *proc, const fd_strmap_entry *e)
{
        const char *key = e->key;
        return fd_key_due(&proc->writes, proc->prefix,
                          fd_store_group(proc->store), key[0] == 'w',
                          (int)strtol(key + 2, NULL, 10));
}

/* The batch's deadline-set changes, each member's last (due_writes): one
 * ZADD and one ZREM per set. */
static int flush_dues(fd_processor *proc)
{
        fd_chains add, rem;
        int rc = 0;
        fd_chains_init(&add);
        fd_chains_init(&rem);
        for (size_t i = 0; i < proc->due_writes.cnt && !rc; i++) {
                const fd_strmap_entry *e = &proc->due_writes.entries[i];
                size_t gl = 2 + strlen(e->key + 2) + 1; /* "w\0p\0" */
                rc = fd_chains_add(e->i64 == INT64_MIN ? &rem : &add, e->key,
                                   gl, e->key + gl, e->klen - gl, e->i64);
        }
        rc = rc || flush_chains(proc, &add, "ZADD", 1, due_key_of) ||
             flush_chains(proc, &rem, "ZREM", 0, due_key_of);
        fd_chains_free(&add);
        fd_chains_free(&rem);
        return rc ? -1 : 0;
}

int fd_apply_flush_aggregates(fd_processor *proc)
{
        fd_resp *w = &proc->writes;
        int rc = 0;
        for (size_t i = 0; i < proc->counters.cnt; i++) {
                const fd_strmap_entry *e = &proc->counters.entries[i];
                size_t kl = strlen(e->key);
                rc |= fd_resp_cmd(w, 4) || fd_resp_str(w, "HINCRBY") ||
                      fd_resp_arg(w, e->key, kl) ||
                      fd_resp_arg(w, e->key + kl + 1, e->klen - kl - 1) ||
                      fd_resp_i64(w, e->i64);
        }
        for (size_t i = 0; i < proc->sets.cnt; i++) {
                const fd_strmap_entry *e = &proc->sets.entries[i];
                size_t kl = strlen(e->key);
                rc |= fd_resp_cmd(w, 3) || fd_resp_str(w, "SADD") ||
                      fd_resp_arg(w, e->key, kl) ||
                      fd_resp_arg(w, e->key + kl + 1, e->klen - kl - 1);
        }
        for (int k = 0; k < FD_EV__COUNT; k++)
                if (proc->in_events[k])
                        rc |= fd_resp_cmd(w, 4) || fd_resp_str(w, "HINCRBY") ||
                              fd_resp_fmt(w, "%s:stats:%s", proc->prefix,
                                          fd_store_group(proc->store)) ||
                              fd_resp_str(w, in_field[k]) ||
                              fd_resp_i64(w, proc->in_events[k]);
        rc |= flush_visitors(proc) |
              /* one ZADD per zset: a lead's events often add several */
              flush_chains(proc, &proc->batch_touches, "ZADD", 1, zset_key) |
              /* one RPUSH per partition, its entries in order */
              flush_chains(proc, &proc->outbox, "RPUSH", 0, outbox_key) |
              flush_dues(proc);
        const fd_strmap *zsets = &proc->batch_touches.by_key;
        for (size_t i = 0; i < zsets->cnt; i++) {
                if (!zsets->entries[i].ptr) /* not marked by zset_add */
                        continue;
                rc |= fd_resp_cmd(w, 4) || fd_resp_str(w, "ZREMRANGEBYRANK") ||
                      zset_key(proc, &zsets->entries[i]) || fd_resp_i64(w, 0) ||
                      fd_resp_i64(w, -(int64_t)proc->conf->touch_max - 1);
        }
        return rc ? -1 : 0;
}
