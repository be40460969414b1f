/* funneld — fast formatting for the hot path: key names and integers.
 *
 * glibc's vsnprintf costs about a microsecond per call; the processor
 * formats a dozen key names and integers per event. fd_vfmt handles the
 * conversions the key formats use (%s, %d, %lld, %zu, %%) directly and
 * passes anything else to vsnprintf. */
#ifndef FD_FMT_H
#define FD_FMT_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* Writes v in decimal to out (at least 21 bytes, not NUL-terminated);
 * returns the number of bytes. */
size_t fd_fmt_i64(char *out, int64_t v);

/* As vsnprintf: writes at most size bytes including the NUL and returns
 * the length the whole result has (>= size: truncated), or -1. */
int fd_vfmt(char *out, size_t size, const char *fmt, va_list ap);

/* As snprintf, through fd_vfmt. */
int fd_fmt(char *out, size_t size, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

#endif
