/* funnelctl — calendar helpers: months, business days, ISO timestamps. */
#ifndef CTL_TIME_H
#define CTL_TIME_H

#include <stddef.h>
#include <stdint.h>

#include "funneld/timebucket.h"

/* A calendar month: year and month 1..12. */
typedef struct ctl_month {
        int year;
        int month;
} ctl_month;

/* Parses "YYYY-MM" strictly (month 01..12). 0 or -1. */
int ctl_month_parse(const char *s, ctl_month *m);
/* Writes "YYYY-MM" (buf of at least 8 bytes). */
void ctl_month_format(ctl_month m, char *buf, size_t buf_size);
ctl_month ctl_month_add(ctl_month m, int delta);
/* Months from a to b (b - a); negative when b is before a. */
int ctl_month_diff(ctl_month a, ctl_month b);

/* Business days of the month in calendar cal (NULL: Saturday and Sunday
 * off, no holidays). */
int ctl_business_days(const fd_calendar *cal, ctl_month m);

/* Writes a note on how business days are counted with cal: its weekend
 * days and how many of its holidays fall on business weekdays from day
 * first to day last (days since 1970-01-01). */
void ctl_calendar_note(const fd_calendar *cal, int64_t first, int64_t last,
                       char *buf, size_t buf_size);

/* The current month in time zone tz (IANA name; NULL or "" = UTC). */
ctl_month ctl_month_now(const char *tz);
/* Today in time zone tz, as days since 1970-01-01; with m, also its
 * month. */
int64_t ctl_today(const char *tz);
int64_t ctl_today_month(const char *tz, ctl_month *m);

/* Parses "YYYY-MM-DD" strictly (a real date) into days since 1970-01-01;
 * 0 or -1. ctl_day_parse_month also gives its month. */
int ctl_day_parse(const char *s, int64_t *day);
int ctl_day_parse_month(const char *s, int64_t *day, ctl_month *m);
/* Writes day (days since 1970-01-01) as "YYYY-MM-DD" (buf of at least 11
 * bytes) and returns its weekday (0 = Sunday). */
int ctl_day_format(int64_t day, char *buf, size_t buf_size);

/* Writes ms since the epoch as "YYYY-MM-DDTHH:MM:SS.mmmZ". */
void ctl_iso_ms(int64_t ms, char *buf, size_t buf_size);

/* Writes ms since the epoch as local time in IANA zone tz with its UTC
 * offset, "YYYY-MM-DDTHH:MM:SS.mmm+HH:MM" (buf of at least 40 bytes); tz
 * NULL, "" or "UTC": ctl_iso_ms. Switches the process's TZ: not for
 * funneld's HTTP thread (see ctl_ctx.utc_clock). */
void ctl_iso_ms_tz(const char *tz, int64_t ms, char *buf, size_t buf_size);

#endif
