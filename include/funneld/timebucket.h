/* funneld — event time to calendar buckets in a tenant's time zone.
 *
 * Uses the system zoneinfo (tzdata) through the C library. Not thread-safe:
 * it switches TZ internally; funneld processes on one thread. Offsets are
 * cached per zone and UTC hour, so a batch costs a few lookups, not one per
 * event. */
#ifndef FUNNELD_TIMEBUCKET_H
#define FUNNELD_TIMEBUCKET_H

#include <stddef.h>
#include <stdint.h>

/* Milliseconds in a minute, an hour and a UTC day (event times and all
 * durations in funneld are epoch milliseconds). */
#define FD_MINUTE_MS INT64_C(60000)
#define FD_HOUR_MS   INT64_C(3600000)
#define FD_DAY_MS    INT64_C(86400000)

typedef struct fd_local_time {
        int year;  /* e.g. 2026 */
        int month; /* 1..12 */
        int day;   /* 1..31 */
        int hour;  /* 0..23 */
        int wday;  /* 0 = Sunday */
} fd_local_time;

/* Converts event time ms (UTC epoch) to local calendar fields in IANA zone
 * tz ("UTC", "Europe/Berlin"). Returns 0, or -1 when the zone is unknown. */
int fd_local_time_of(const char *tz, int64_t ms, fd_local_time *out);
/* The same, and the instants [*lo, *hi) that have the same local date and
 * hour in tz (within ms's UTC day; an empty span, *lo = *hi, when that is
 * not known). */
int fd_local_time_span(const char *tz, int64_t ms, fd_local_time *out,
                       int64_t *lo, int64_t *hi);

/* 1 when tz names a zone the system knows (a tzdata file exists or "UTC"). */
int fd_timezone_valid(const char *tz);

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar
 * (negative before 1970); m 1..12, d 1..31. */
int64_t fd_days_from_civil(int64_t y, int m, int d);

/* The proleptic Gregorian date of day (days since 1970-01-01, negative
 * before): *y, *m 1..12 and *d 1..31. The inverse of fd_days_from_civil. */
void fd_civil_from_days(int64_t day, int64_t *y, int *m, int *d);

/* a / b rounded toward minus infinity (b > 0). */
int64_t fd_floor_div(int64_t a, int64_t b);

/* Parses a strict "YYYY-MM-DD" (a real date, year 1970..9999) into days
 * since 1970-01-01, and its year and month when y/m are not NULL. Returns 0,
 * or -1 when s is not such a date. */
int fd_day_parse(const char *s, int64_t *day, int *y, int *m);

/* Writes day (days since 1970-01-01) as "YYYY-MM-DD" into buf (at least
 * 11 bytes) and returns its weekday (0 = Sunday .. 6 = Saturday). */
int fd_day_format(int64_t day, char *buf, size_t buf_size);

/* The weekday of day (days since 1970-01-01): 0 = Sunday .. 6 = Saturday. */
int fd_weekday_of(int64_t day);

/* A tenant's working calendar (config keys calendar.weekend and
 * calendar.holidays). */
typedef struct fd_calendar {
        int weekend;       /* bit (1 << wday) set: that weekday is off */
        int64_t *holidays; /* days since 1970-01-01, ascending, unique */
        size_t holiday_cnt;
} fd_calendar;

/* The weekend bit of Saturday and Sunday: the default calendar. */
#define FD_WEEKEND_DEFAULT ((1 << 6) | (1 << 0))

/* 1 when day (days since 1970-01-01) is neither a weekend day nor a holiday
 * of cal; cal NULL is the default calendar (Saturday and Sunday off, no
 * holidays). */
int fd_is_business_day(const fd_calendar *cal, int64_t day);

/* Business days of cal in the month year-month (1..12). */
int fd_business_days_in_month(const fd_calendar *cal, int year, int month);

/* Business days of cal from day first to day last, both included (0 when
 * last is before first). */
int fd_business_days_between(const fd_calendar *cal, int64_t first,
                             int64_t last);

#endif
