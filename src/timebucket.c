/* funneld — event time to local calendar fields through the C library.
 *
 * NOT THREAD-SAFE: converting in a zone sets the process environment
 * variable TZ (setenv + tzset) and leaves it set; funneld does all its
 * processing on one thread. Nothing else in funneld may rely on TZ.
 *
 * Cost: the UTC offset is cached per (zone, UTC hour) when it is the same at
 * both ends of that hour (always, except in an hour holding a transition),
 * so repeated events of one hour cost no libc call; the local fields are
 * then plain arithmetic. TZ is switched (tzset) only on a cache miss in a
 * zone other than the last one set.
 *
 * Zones: "UTC" is always valid and needs no tzdata. Any other name must be a
 * TZif file under /usr/share/zoneinfo (no "..", no leading '/'), because
 * glibc silently falls back to UTC for names it does not know. */
#include "funneld/timebucket.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ZONEINFO_DIR "/usr/share/zoneinfo/"
#define TZ_NAME_MAX  128
#define DAY_CACHE_SZ 4096

typedef struct day_slot {
        char zone[TZ_NAME_MAX];
        int64_t day; /* floor(ms / 1 day), UTC */
        long offset; /* seconds east of UTC, the whole UTC day */
        int used;
} day_slot;

/* The local hours last looked up: every ms of [lo, hi) has the local time
 * lt in zone (events come in about time order, a few zones at a time). */
#define HOUR_MEMO 8
typedef struct hour_slot {
        char zone[TZ_NAME_MAX];
        int64_t lo, hi;
        fd_local_time lt;
} hour_slot;

/* Process-wide caches (single thread, see above). */
static char tz_current[TZ_NAME_MAX]; /* zone TZ is set to, "" if none */
static day_slot day_cache[DAY_CACHE_SZ];
static hour_slot hour_memo[HOUR_MEMO];
static unsigned hour_memo_next;

int64_t fd_floor_div(int64_t a, int64_t b)
{
        int64_t q = a / b;

        if ((a % b != 0) && ((a < 0) != (b < 0)))
                q--;
        return q;
}

static int name_chars_ok(const char *tz)
{
        const char *p;

        if (tz[0] == '/' || strstr(tz, ".."))
                return 0;
        for (p = tz; *p; p++) {
                char c = *p;
                if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                      (c >= '0' && c <= '9') || c == '/' || c == '_' ||
                      c == '-' || c == '+' || c == '.'))
                        return 0;
        }
        return 1;
}

/* Howard Hinnant's days_from_civil: shift the year to start in March so
 * the leap day is last, then count 400-year eras. */
int64_t fd_days_from_civil(int64_t y, int m, int d)
{
        int64_t era, yoe, doy, doe;

        y -= m <= 2;
        era = (y >= 0 ? y : y - 399) / 400;
        yoe = y - era * 400;
        doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
        doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        return era * 146097 + doe - 719468;
}

int fd_day_parse(const char *s, int64_t *day, int *y, int *m)
{
        static const int mdays[] = {31, 29, 31, 30, 31, 30,
                                    31, 31, 30, 31, 30, 31};
        int yy, mm, dd;

        if (!s || strlen(s) != 10 || s[4] != '-' || s[7] != '-')
                return -1;
        for (int i = 0; i < 10; i++)
                if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
                        return -1;
        yy = atoi(s);
        mm = atoi(s + 5);
        dd = atoi(s + 8);
        if (yy < 1970 || mm < 1 || mm > 12 || dd < 1 || dd > mdays[mm - 1])
                return -1;
        if (mm == 2 && dd == 29 &&
            !(yy % 4 == 0 && (yy % 100 != 0 || yy % 400 == 0)))
                return -1;
        *day = fd_days_from_civil(yy, mm, dd);
        if (y)
                *y = yy;
        if (m)
                *m = mm;
        return 0;
}

int fd_day_format(int64_t day, char *buf, size_t buf_size)
{
        int64_t y;
        int m, d;

        fd_civil_from_days(day, &y, &m, &d);
        snprintf(buf, buf_size, "%04lld-%02d-%02d", (long long)y, m, d);
        return fd_weekday_of(day);
}

int fd_weekday_of(int64_t day)
{
        /* 1970-01-01 was a Thursday (4) */
        return (int)(((day + 4) % 7 + 7) % 7);
}

/* 1 when the ascending array v of cnt days holds day (binary search). */
static int holds_day(const int64_t *v, size_t cnt, int64_t day)
{
        size_t lo = 0, hi = cnt;

        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;

                if (v[mid] == day)
                        return 1;
                if (v[mid] < day)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return 0;
}

int fd_is_business_day(const fd_calendar *cal, int64_t day)
{
        int weekend = cal ? cal->weekend : FD_WEEKEND_DEFAULT;

        if (weekend & (1 << fd_weekday_of(day)))
                return 0;
        return !cal || !holds_day(cal->holidays, cal->holiday_cnt, day);
}

int fd_business_days_between(const fd_calendar *cal, int64_t first,
                             int64_t last)
{
        int n = 0;

        for (int64_t day = first; day <= last; day++)
                n += fd_is_business_day(cal, day);
        return n;
}

int fd_business_days_in_month(const fd_calendar *cal, int year, int month)
{
        int64_t first = fd_days_from_civil(year, month, 1);
        int64_t next = month == 12 ? fd_days_from_civil(year + 1, 1, 1)
                                   : fd_days_from_civil(year, month + 1, 1);

        return fd_business_days_between(cal, first, next - 1);
}

int fd_timezone_valid(const char *tz)
{
        char path[sizeof(ZONEINFO_DIR) + TZ_NAME_MAX];
        char magic[4];
        FILE *fp;
        int ok;

        if (!tz || !tz[0] || strlen(tz) >= TZ_NAME_MAX)
                return 0;
        if (strcmp(tz, "UTC") == 0)
                return 1;
        if (!name_chars_ok(tz))
                return 0;
        snprintf(path, sizeof(path), "%s%s", ZONEINFO_DIR, tz);
        fp = fopen(path, "rb");
        if (!fp)
                return 0;
        /* Directories open but do not read; only TZif files are zones. */
        ok = fread(magic, 1, sizeof(magic), fp) == sizeof(magic) &&
             memcmp(magic, "TZif", 4) == 0;
        fclose(fp);
        return ok;
}

/* Points TZ at tz (validated). Returns 0, or -1 when tz is unknown. */
static int zone_select(const char *tz)
{
        if (tz_current[0] && strcmp(tz_current, tz) == 0)
                return 0;
        if (!fd_timezone_valid(tz))
                return -1;
        if (setenv("TZ", tz, 1) != 0)
                return -1;
        tzset();
        snprintf(tz_current, sizeof(tz_current), "%s", tz);
        return 0;
}

/* UTC offset in seconds at epoch second sec in the selected zone. */
static int offset_at(int64_t sec, long *offset)
{
        time_t t = (time_t)sec;
        struct tm tm;

        if (!localtime_r(&t, &tm))
                return -1;
        *offset = tm.tm_gmtoff;
        return 0;
}

static size_t slot_index(const char *tz, int64_t day)
{
        uint64_t h = 1469598103934665603ULL;
        const char *p;

        for (p = tz; *p; p++)
                h = (h ^ (unsigned char)*p) * 1099511628211ULL;
        h ^= (uint64_t)day * 0x9E3779B97F4A7C15ULL;
        return (size_t)(h >> 32) % DAY_CACHE_SZ;
}

/* UTC offset of tz at ms, from the cache when possible: a UTC day whose
 * first and last second have the same offset is cached whole (zones change
 * offset at most a few times a year); the rare day with a transition is
 * looked up per event (*whole_day 0). */
static int zone_offset(const char *tz, int64_t ms, long *offset, int *whole_day)
{
        int64_t day = fd_floor_div(ms, FD_DAY_MS);
        day_slot *slot = &day_cache[slot_index(tz, day)];
        long start, end;

        *whole_day = 1;
        if (slot->used && slot->day == day && strcmp(slot->zone, tz) == 0) {
                *offset = slot->offset;
                return 0;
        }
        if (zone_select(tz) != 0 || offset_at(day * 86400, &start) != 0 ||
            offset_at(day * 86400 + 86399, &end) != 0)
                return -1;
        if (start != end) { /* a transition inside this day: no caching */
                *whole_day = 0;
                return offset_at(fd_floor_div(ms, 1000), offset);
        }
        snprintf(slot->zone, sizeof(slot->zone), "%s", tz);
        slot->day = day;
        slot->offset = start;
        slot->used = 1;
        *offset = start;
        return 0;
}

void fd_civil_from_days(int64_t day, int64_t *y, int *m, int *d)
{
        /* Howard Hinnant's civil_from_days: eras of 400 years from
         * 0000-03-01, so the leap day ends a year. */
        int64_t z = day + 719468;
        int64_t era = fd_floor_div(z, 146097);
        int64_t doe = z - era * 146097;
        int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
        int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        int64_t mp = (5 * doy + 2) / 153;

        *d = (int)(doy - (153 * mp + 2) / 5 + 1);
        *m = (int)(mp < 10 ? mp + 3 : mp - 9);
        *y = yoe + era * 400 + (*m <= 2);
}

int fd_local_time_of(const char *tz, int64_t ms, fd_local_time *out)
{
        int64_t lo, hi;
        return fd_local_time_span(tz, ms, out, &lo, &hi);
}

int fd_local_time_span(const char *tz, int64_t ms, fd_local_time *out,
                       int64_t *lo_out, int64_t *hi_out)
{
        long offset = 0;
        int whole_day = 1;
        int64_t local, days, year;

        *lo_out = *hi_out = ms; /* an empty span unless known */
        if (!tz || !tz[0] || strlen(tz) >= TZ_NAME_MAX)
                return -1;
        for (int i = 0; i < HOUR_MEMO; i++) {
                const hour_slot *h = &hour_memo[i];
                if (ms >= h->lo && ms < h->hi && strcmp(h->zone, tz) == 0) {
                        *out = h->lt;
                        *lo_out = h->lo;
                        *hi_out = h->hi;
                        return 0;
                }
        }
        if (strcmp(tz, "UTC") != 0 &&
            zone_offset(tz, ms, &offset, &whole_day) != 0)
                return -1;
        /* Local wall time = the civil fields of the shifted instant. */
        local = fd_floor_div(ms, 1000) + offset;
        days = fd_floor_div(local, 86400);
        out->hour = (int)((local - days * 86400) / 3600);
        out->wday = fd_weekday_of(days);
        fd_civil_from_days(days, &year, &out->month, &out->day);
        out->year = (int)year;
        if (whole_day && ms > -(INT64_C(1) << 60) && ms < (INT64_C(1) << 60)) {
                /* The local hour's instants, within this UTC day (whose
                 * offset is the same throughout). */
                hour_slot *h = &hour_memo[hour_memo_next++ % HOUR_MEMO];
                int64_t day0 = fd_floor_div(ms, FD_DAY_MS) * FD_DAY_MS;
                int64_t lo = (fd_floor_div(local, 3600) * 3600 - offset) * 1000;
                memcpy(h->zone, tz, strlen(tz) + 1); /* < TZ_NAME_MAX */
                h->lo = lo > day0 ? lo : day0;
                h->hi = lo + 3600000 < day0 + FD_DAY_MS ? lo + 3600000
                                                        : day0 + FD_DAY_MS;
                h->lt = *out;
                *lo_out = h->lo;
                *hi_out = h->hi;
        }
        return 0;
}
