/* Unit tests for timebucket: event time to local calendar fields. */
#include "funneld/timebucket.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "apply.h"
#include "fdtest.h"

#define S 1000LL /* ms per second */

/* Asserts the local fields of instant ms in zone tz. */
static void expect_local(const char *tz, int64_t ms, int year, int month,
                         int day, int hour, int wday, int line)
{
        fd_local_time lt = {0};
        int rc = fd_local_time_of(tz, ms, &lt);

        if (rc != 0 || lt.year != year || lt.month != month || lt.day != day ||
            lt.hour != hour || lt.wday != wday) {
                fprintf(stderr,
                        "%s:%d: %s @%lld ms: rc %d, got %04d-%02d-%02d h%02d "
                        "w%d, expected %04d-%02d-%02d h%02d w%d\n",
                        __FILE__, line, tz, (long long)ms, rc, lt.year,
                        lt.month, lt.day, lt.hour, lt.wday, year, month, day,
                        hour, wday);
                fdt_failed = 1;
        }
}

#define EXPECT(tz, ms, y, mo, d, h, w)                                         \
        expect_local(tz, ms, y, mo, d, h, w, __LINE__)

static void test_utc_day_boundaries(void)
{
        /* 2026-01-01T00:00:00Z = 1767225600 s, a Thursday. */
        EXPECT("UTC", 1767225600 * S, 2026, 1, 1, 0, 4);
        EXPECT("UTC", 1767225600 * S - 1, 2025, 12, 31, 23, 3);
        EXPECT("UTC", 1767311999 * S + 999, 2026, 1, 1, 23, 4);
        EXPECT("UTC", 1767311999 * S + 1000, 2026, 1, 2, 0, 5);
        EXPECT("UTC", 0, 1970, 1, 1, 0, 4);
}

static void test_before_1970(void)
{
        /* -1 ms is 1969-12-31T23:59:59.999Z, a Wednesday. */
        EXPECT("UTC", -1, 1969, 12, 31, 23, 3);
        EXPECT("UTC", -86400 * S, 1969, 12, 31, 0, 3);
        EXPECT("UTC", -86400 * S - 1, 1969, 12, 30, 23, 2);
        EXPECT("America/New_York", -1, 1969, 12, 31, 18, 3);
        /* 1960-06-01T12:00Z: 08:00 EDT. */
        EXPECT("America/New_York", -302443200 * S, 1960, 6, 1, 8, 3);
}

static void test_new_york_dst_2026(void)
{
        const char *ny = "America/New_York";

        /* Spring forward 2026-03-08 07:00Z (02:00 EST -> 03:00 EDT). */
        EXPECT(ny, 1772953140 * S, 2026, 3, 8, 1, 0); /* 06:59Z: 01:59 EST */
        EXPECT(ny, 1772953200 * S, 2026, 3, 8, 3, 0); /* 07:00Z: 03:00 EDT */
        /* Fall back 2026-11-01 06:00Z (02:00 EDT -> 01:00 EST). */
        EXPECT(ny, 1793503800 * S, 2026, 10, 31, 23, 6); /* 03:30Z: 23:30 */
        EXPECT(ny, 1793507400 * S, 2026, 11, 1, 0, 0);   /* 04:30Z: 00:30 */
        EXPECT(ny, 1793511000 * S, 2026, 11, 1, 1, 0);   /* 05:30Z: 01:30 EDT */
        EXPECT(ny, 1793514600 * S, 2026, 11, 1, 1, 0);   /* 06:30Z: 01:30 EST */
        /* Winter: 2026-01-01T00:00Z is 2025-12-31 19:00 EST. */
        EXPECT(ny, 1767225600 * S, 2025, 12, 31, 19, 3);
}

static void test_berlin(void)
{
        const char *be = "Europe/Berlin";

        EXPECT(be, 1767225600 * S, 2026, 1, 1, 1, 4);   /* CET +1 */
        EXPECT(be, 1767311999 * S, 2026, 1, 2, 0, 5);   /* 23:59:59Z */
        EXPECT(be, 1774744200 * S, 2026, 3, 29, 1, 0);  /* 00:30Z: 01:30 CET */
        EXPECT(be, 1774747800 * S, 2026, 3, 29, 3, 0);  /* 01:30Z: 03:30 */
        EXPECT(be, 1792888200 * S, 2026, 10, 25, 2, 0); /* 00:30Z: 02:30 CEST */
        EXPECT(be, 1792891800 * S, 2026, 10, 25, 2, 0); /* 01:30Z: 02:30 CET */
}

static void test_kolkata_half_hour(void)
{
        const char *in = "Asia/Kolkata";

        EXPECT(in, 1767292140 * S, 2026, 1, 1, 23, 4); /* 18:29Z: 23:59 */
        EXPECT(in, 1767292200 * S, 2026, 1, 2, 0, 5);  /* 18:30Z: 00:00 */
        /* One UTC hour spans two local hours: 10:10Z 15:40, 10:40Z 16:10. */
        EXPECT(in, 1781518200 * S, 2026, 6, 15, 15, 1);
        EXPECT(in, 1781520000 * S, 2026, 6, 15, 16, 1);
        EXPECT(in, 1781518200 * S, 2026, 6, 15, 15, 1); /* cached again */
}

static void test_transition_inside_utc_hour(void)
{
        /* Lord Howe goes +10:30 -> +11 at 2026-10-03T15:30Z. */
        const char *lh = "Australia/Lord_Howe";

        EXPECT(lh, 1791039600 * S, 2026, 10, 4, 1, 0); /* 15:00Z: 01:30 */
        EXPECT(lh, 1791041340 * S, 2026, 10, 4, 1, 0); /* 15:29Z: 01:59 */
        EXPECT(lh, 1791041400 * S, 2026, 10, 4, 2, 0); /* 15:30Z: 02:30 */
        EXPECT(lh, 1791043140 * S, 2026, 10, 4, 2, 0); /* 15:59Z: 02:59 */
}

static void test_transition_inside_utc_hour_1942(void)
{
        /* Kolkata went +5:30 -> +6:30 at 1942-08-31T18:30Z: in that UTC
         * hour, 18:15Z is 23:45 on Aug 31 and 18:45Z is 01:15 on Sep 1 (an
         * offset cached from the start of the hour would give 00:15). */
        const char *in = "Asia/Kolkata";

        EXPECT(in, -862638300 * S, 1942, 8, 31, 23, 1);
        EXPECT(in, -862636500 * S, 1942, 9, 1, 1, 2);
        EXPECT(in, -862637401 * S, 1942, 8, 31, 23, 1); /* 18:29:59Z */
        EXPECT(in, -862637400 * S, 1942, 9, 1, 1, 2);   /* 18:30:00Z */
}

/* fd_apply_bucket's day, month and hour are fd_local_time_of's for every
 * instant: around DST changes, in quarter-hour zones, across the 1942
 * Kolkata change inside a UTC hour, before 1900 (local mean time), and for
 * zones and instants that alternate. */
static void test_apply_bucket_matches_local_time(void)
{
        static const char *zones[] = {
                "UTC",          "Europe/Berlin",      "America/New_York",
                "Asia/Kolkata", "Asia/Kathmandu",     "Australia/Eucla",
                "Asia/Tehran",  "Australia/Lord_Howe"};
        static const int64_t starts[] = {
                1774746000 * S,  /* 2026-03-29 01:00Z (Berlin: +1 -> +2) */
                1772928000 * S,  /* 2026-03-08 00:00Z (New York) */
                1775260800 * S,  /* 2026-04-04 00:00Z (Lord Howe) */
                -862660800 * S,  /* 1942-08-31 12:00Z (Kolkata) */
                -2840140800 * S, /* 1880-01-01 00:00Z: local mean times */
        };
        int bad = 0, n = 0;

        /* Every zone at each instant in turn: the buckets' memo (local
         * hours by zone, direct-mapped) must keep zones and hours apart. */
        for (size_t st = 0; st < sizeof(starts) / sizeof(starts[0]); st++)
                for (int64_t i = 0; i < 900; i++)
                        for (size_t z = 0; z < sizeof(zones) / sizeof(zones[0]);
                             z++) {
                                fd_tenant_conf tc = {0};
                                tc.timezone = (char *)zones[z];
                                /* a minute and a bit apart, with a jump back
                                 * now and then to revisit cached blocks */
                                int64_t ms = starts[st] + i * 61 * S + i % 7 -
                                             (i % 5 == 0 ? 3600 * S : 0);
                                fd_local_time lt;
                                fd_bucket b;
                                char day[16], month[12], hour[4];
                                FD_CHECK_INT(
                                        fd_local_time_of(zones[z], ms, &lt), 0);
                                snprintf(day, sizeof(day), "%04d-%02d-%02d",
                                         lt.year, lt.month, lt.day);
                                snprintf(month, sizeof(month), "%04d-%02d",
                                         lt.year, lt.month);
                                snprintf(hour, sizeof(hour), "%02d", lt.hour);
                                fd_apply_bucket(&tc, ms, &b);
                                n++;
                                if (strcmp(b.day, day) ||
                                    strcmp(b.month, month) ||
                                    strcmp(b.hour, hour)) {
                                        if (bad++ < 5)
                                                fprintf(stderr,
                                                        "%s @%lld: %s %s %s, "
                                                        "expected %s %s %s\n",
                                                        zones[z], (long long)ms,
                                                        b.day, b.month, b.hour,
                                                        day, month, hour);
                                }
                        }
        FD_CHECK_INT(bad, 0);
        FD_CHECK_INT(n, 8 * 5 * 900);
}

static void test_alternating_zones(void)
{
        int i;

        /* The per-hour cache must keep zones apart. */
        for (i = 0; i < 3; i++) {
                EXPECT("America/New_York", 1793507400 * S, 2026, 11, 1, 0, 0);
                EXPECT("Asia/Kolkata", 1793507400 * S, 2026, 11, 1, 10, 0);
                EXPECT("UTC", 1793507400 * S, 2026, 11, 1, 4, 0);
                EXPECT("Europe/Berlin", 1793507400 * S, 2026, 11, 1, 5, 0);
        }
}

static void test_zone_validation(void)
{
        fd_local_time lt;

        FD_CHECK_INT(fd_timezone_valid("UTC"), 1);
        FD_CHECK_INT(fd_timezone_valid("Europe/Berlin"), 1);
        FD_CHECK_INT(fd_timezone_valid("America/New_York"), 1);
        FD_CHECK_INT(fd_timezone_valid("Mars/Olympus_Mons"), 0);
        FD_CHECK_INT(fd_timezone_valid("Europe/berlin_x"), 0);
        FD_CHECK_INT(fd_timezone_valid("../../../etc/passwd"), 0);
        FD_CHECK_INT(fd_timezone_valid("Europe/../Europe/Berlin"), 0);
        FD_CHECK_INT(fd_timezone_valid("/Europe/Berlin"), 0);
        FD_CHECK_INT(fd_timezone_valid("America"), 0);  /* a directory */
        FD_CHECK_INT(fd_timezone_valid("zone.tab"), 0); /* not TZif */
        FD_CHECK_INT(fd_timezone_valid(""), 0);
        FD_CHECK_INT(fd_timezone_valid(NULL), 0);
        FD_CHECK_INT(fd_local_time_of("Mars/Olympus_Mons", 0, &lt), -1);
        FD_CHECK_INT(fd_local_time_of("America", 0, &lt), -1);
        /* An unknown zone after a valid one must not reuse its offset. */
        FD_CHECK_INT(fd_local_time_of("Asia/Kolkata", 0, &lt), 0);
        FD_CHECK_INT(fd_local_time_of("Asia/Kolkatta", 0, &lt), -1);
}

static void test_weekday_of(void)
{
        FD_CHECK_INT(fd_weekday_of(0), 4); /* 1970-01-01: Thursday */
        FD_CHECK_INT(fd_weekday_of(-1), 3);
        FD_CHECK_INT(fd_weekday_of(fd_days_from_civil(2026, 11, 26)), 4);
        FD_CHECK_INT(fd_weekday_of(fd_days_from_civil(2026, 11, 29)), 0);
        FD_CHECK_INT(fd_weekday_of(fd_days_from_civil(1969, 12, 27)), 6);
}

static void test_business_days_default(void)
{
        /* No config: Saturday and Sunday off, no holidays. */
        FD_CHECK_INT(fd_business_days_in_month(NULL, 2026, 2), 20);
        FD_CHECK_INT(fd_business_days_in_month(NULL, 2026, 3), 22);
        FD_CHECK_INT(fd_business_days_in_month(NULL, 2024, 2), 21); /* leap */
        FD_CHECK_INT(fd_business_days_in_month(NULL, 2026, 10), 22);
        FD_CHECK_INT(fd_business_days_in_month(NULL, 2026, 12), 23);
        FD_CHECK_INT(fd_is_business_day(NULL, fd_days_from_civil(2026, 2, 27)),
                     1); /* Friday */
        FD_CHECK_INT(fd_is_business_day(NULL, fd_days_from_civil(2026, 2, 28)),
                     0); /* Saturday */
        fd_calendar cal = {FD_WEEKEND_DEFAULT, NULL, 0};
        FD_CHECK_INT(fd_business_days_in_month(&cal, 2026, 2), 20);
        FD_CHECK_INT(fd_business_days_between(&cal,
                                              fd_days_from_civil(2026, 2, 23),
                                              fd_days_from_civil(2026, 3, 1)),
                     5);
        FD_CHECK_INT(fd_business_days_between(&cal, 10, 9), 0);
}

static void test_business_days_holidays(void)
{
        /* December 2026: 23 weekdays; 24th (Thu), 25th (Fri) and 31st (Thu)
         * off; 26th is a Saturday anyway. Sorted as the config stores. */
        int64_t days[] = {
                fd_days_from_civil(2026, 1, 1),
                fd_days_from_civil(2026, 12, 24),
                fd_days_from_civil(2026, 12, 25),
                fd_days_from_civil(2026, 12, 26),
                fd_days_from_civil(2026, 12, 31),
        };
        fd_calendar cal = {FD_WEEKEND_DEFAULT, days, 5};

        FD_CHECK_INT(fd_business_days_in_month(&cal, 2026, 12), 20);
        FD_CHECK_INT(fd_business_days_in_month(&cal, 2026, 1), 21);
        FD_CHECK_INT(fd_business_days_in_month(&cal, 2026, 11), 21);
        FD_CHECK_INT(fd_is_business_day(&cal, days[1]), 0);
        FD_CHECK_INT(fd_is_business_day(&cal, days[1] - 1), 1);
        FD_CHECK_INT(fd_is_business_day(&cal, days[4]), 0);
}

static void test_business_days_custom_weekend(void)
{
        /* Friday and Saturday off: February 2026 starts on a Sunday, 4
         * whole weeks of 5 business days. March 2026: 31 days from Sunday,
         * Fridays 6, 13, 20, 27 and Saturdays 7, 14, 21, 28 off. */
        fd_calendar fri_sat = {(1 << 5) | (1 << 6), NULL, 0};
        fd_calendar none = {0, NULL, 0};
        int64_t eid = fd_days_from_civil(2026, 3, 20); /* a Friday */
        fd_calendar with_friday_holiday = {(1 << 5) | (1 << 6), &eid, 1};

        FD_CHECK_INT(fd_business_days_in_month(&fri_sat, 2026, 2), 20);
        FD_CHECK_INT(fd_business_days_in_month(&fri_sat, 2026, 3), 23);
        FD_CHECK_INT(
                fd_is_business_day(&fri_sat, fd_days_from_civil(2026, 3, 1)),
                1); /* Sunday */
        FD_CHECK_INT(
                fd_is_business_day(&fri_sat, fd_days_from_civil(2026, 3, 6)),
                0); /* Friday */
        /* a holiday on a weekend day changes nothing */
        FD_CHECK_INT(fd_business_days_in_month(&with_friday_holiday, 2026, 3),
                     23);
        FD_CHECK_INT(fd_business_days_in_month(&none, 2026, 2), 28);
        FD_CHECK_INT(fd_business_days_in_month(&none, 2026, 3), 31);
}

static const char *const local_zones[] = {"UTC",
                                          "America/New_York",
                                          "Europe/Berlin",
                                          "Asia/Kolkata",
                                          "Australia/Lord_Howe",
                                          "Asia/Kathmandu",
                                          "America/Sao_Paulo"};
#define LOCAL_ZONES (sizeof(local_zones) / sizeof(*local_zones))

/* 1 when fd_local_time_of gives zone's ms the fields the C library's
 * localtime_r gives (reported, up to *bad 5); 0 otherwise. */
static int same_as_localtime(const char *zone, int64_t ms, int *bad)
{
        fd_local_time lt = {0};
        struct tm tm;
        time_t t;

        if (fd_local_time_of(zone, ms, &lt) != 0) {
                (*bad)++;
                return 0;
        }
        /* The reference. funneld keeps TZ at the zone it looked up last;
         * setting TZ to the same zone keeps that true (UTC is never looked
         * up). */
        t = (time_t)(ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000));
        if (strcmp(zone, "UTC") == 0) {
                gmtime_r(&t, &tm);
        } else {
                setenv("TZ", zone, 1);
                tzset();
                localtime_r(&t, &tm);
        }
        if (lt.year == tm.tm_year + 1900 && lt.month == tm.tm_mon + 1 &&
            lt.day == tm.tm_mday && lt.hour == tm.tm_hour &&
            lt.wday == tm.tm_wday)
                return 1;
        if ((*bad)++ < 5)
                fprintf(stderr,
                        "%s at %" PRId64 " ms: %d-%d-%d %d h (wday %d), "
                        "localtime_r %d-%d-%d %d h (wday %d)\n",
                        zone, ms, lt.year, lt.month, lt.day, lt.hour, lt.wday,
                        tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                        tm.tm_hour, tm.tm_wday);
        return 0;
}

/* Random instants from 1901 to 2099 in zones with DST, half-hour and
 * 45-minute offsets: the same fields as the C library's localtime_r. */
static void test_matches_localtime(void)
{
        uint64_t x = 0x2545F4914F6CDD1DULL;
        int bad = 0;

        for (size_t z = 0; z < LOCAL_ZONES; z++) {
                for (int i = 0; i < 20000; i++) {
                        x ^= x << 13;
                        x ^= x >> 7;
                        x ^= x << 17;
                        /* 1901-12-13 .. about 2100, with milliseconds */
                        same_as_localtime(local_zones[z],
                                          -2147483648000LL +
                                                  (int64_t)(x % 6250000000ULL) *
                                                          1000 +
                                                  (int64_t)(x >> 54),
                                          &bad);
                }
        }
        FD_CHECK_INT(bad, 0);
}

/* Instants in order, as events mostly come (the local hour of the last
 * lookups is remembered): every 7 min 13.5 s through 2026's spring and
 * autumn transitions of each zone, and through the hours around them. */
static void test_in_order_matches_localtime(void)
{
        static const int64_t from[] = {
                1772323200000LL, /* 2026-03-01 */
                1790812800000LL, /* 2026-10-01 */
                1767225600000LL, /* 2026-01-01 */
        };
        int bad = 0;

        for (size_t z = 0; z < LOCAL_ZONES; z++)
                for (size_t f = 0; f < sizeof(from) / sizeof(*from); f++)
                        for (int64_t ms = from[f];
                             ms < from[f] + 45 * 86400000LL; ms += 433500)
                                same_as_localtime(local_zones[z], ms, &bad);
        FD_CHECK_INT(bad, 0);
}

int main(void)
{
        FD_RUN(test_utc_day_boundaries);
        FD_RUN(test_before_1970);
        FD_RUN(test_new_york_dst_2026);
        FD_RUN(test_berlin);
        FD_RUN(test_kolkata_half_hour);
        FD_RUN(test_transition_inside_utc_hour);
        FD_RUN(test_transition_inside_utc_hour_1942);
        FD_RUN(test_alternating_zones);
        FD_RUN(test_apply_bucket_matches_local_time);
        FD_RUN(test_matches_localtime);
        FD_RUN(test_in_order_matches_localtime);
        FD_RUN(test_zone_validation);
        FD_RUN(test_weekday_of);
        FD_RUN(test_business_days_default);
        FD_RUN(test_business_days_holidays);
        FD_RUN(test_business_days_custom_weekend);
        return FD_DONE();
}
