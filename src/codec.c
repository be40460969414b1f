/* funneld — Avro decoding of input events (see include/funneld/codec.h).
 *
 * Framing rule: a value whose first byte is 0 and whose bytes 1..4 name a
 * schema id registered with fd_codec_add_writer() is Confluent framed. Any
 * other value is plain Avro if a plain writer schema is configured for the
 * kind (a plain body may itself start with 0: an empty first string).
 * Otherwise: byte 0 == 0 and at least 5 bytes -> unknown-schema-id; byte
 * 0 == 0 and fewer bytes -> undecodable; other first bytes ->
 * bad-magic-byte. An empty value is always undecodable.
 *
 * Decoding: one pass over the body checks each writer field (against
 * every length, count and index limit codec_check.c enforces) and copies it
 * into the C struct through the writer-to-reader field map built at
 * registration (codec_read.c). A body that pass does not take, invalid ones
 * and the rare shapes (huge attribute maps, writers of more than 64
 * fields), is pre-validated (codec_check.c) and read with avro-c's generic
 * value, which also serves as the reference the tests compare the one pass
 * with (fd_codec_use_avro_reader). Reader fields the writer lacks take the
 * reader schema's default. A codec is not thread-safe: use one per thread.
 *
 * Limits: NULL checks nothing; max_bytes <= 0 means no size limit; a time
 * range of 0 .. 0 means no occurred_at check. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec_internal.h"

static int kind_ok(fd_event_kind kind)
{
        return kind > FD_EV_NONE && kind < FD_EV__COUNT;
}

const char *fd_decode_err_name(fd_decode_err err)
{
        switch (err) {
        case FD_DECODE_OK:
                return "ok";
        case FD_DECODE_UNDECODABLE:
                return "undecodable";
        case FD_DECODE_UNKNOWN_SCHEMA:
                return "unknown-schema-id";
        case FD_DECODE_BAD_MAGIC:
                return "bad-magic-byte";
        case FD_DECODE_INCOMPATIBLE:
                return "incompatible-schema";
        case FD_DECODE_MISSING_FIELD:
                return "missing-field";
        case FD_DECODE_INVALID_FIELD:
                return "invalid-field";
        case FD_DECODE_OVERSIZED:
                return "oversized";
        }
        return "unknown-error";
}

static int load_reader(fd_codec *codec, fd_event_kind kind, const char *dir,
                       const char *file, char *errstr, size_t errstr_size)
{
        char path[4096];
        size_t len = 0;
        char *text;
        fd__writer *self;
        int rc;

        snprintf(path, sizeof(path), "%s/%s", dir, file);
        text = fd__read_file(path, &len, errstr, errstr_size);
        if (!text)
                return -1;
        rc = fd__reader_init(&codec->rd[kind], kind, text, len, path, errstr,
                             errstr_size);
        free(text);
        if (rc != 0)
                return -1;
        /* The reader must be readable as its own writer: checks types. */
        self = fd__writer_new(&codec->rd[kind], kind, path, errstr,
                              errstr_size);
        fd__writer_destroy(self);
        return self ? 0 : -1;
}

/* Returns a codec owned by the caller (fd_codec_destroy), or NULL. */
fd_codec *fd_codec_new(const char *schema_dir, char *errstr, size_t errstr_size)
{
        fd_codec *codec = calloc(1, sizeof(*codec));

        if (!codec) {
                snprintf(errstr, errstr_size, "out of memory");
                return NULL;
        }
        if (load_reader(codec, FD_EV_LEAD, schema_dir, "lead_event.avsc",
                        errstr, errstr_size) != 0 ||
            load_reader(codec, FD_EV_CRM, schema_dir, "crm_stage_event.avsc",
                        errstr, errstr_size) != 0 ||
            load_reader(codec, FD_EV_SPEND, schema_dir, "spend_event.avsc",
                        errstr, errstr_size) != 0 ||
            fd__enc_init(codec, schema_dir, errstr, errstr_size) != 0) {
                fd_codec_destroy(codec);
                return NULL;
        }
        return codec;
}

/* Releases codec and every schema, value and writer it owns. */
void fd_codec_destroy(fd_codec *codec)
{
        size_t i;

        if (!codec)
                return;
        for (i = 0; i < codec->writer_cnt; i++)
                fd__writer_destroy(codec->writers[i]);
        free(codec->writers);
        for (i = 0; i < FD_EV__COUNT; i++) {
                fd__writer_destroy(codec->plain[i]);
                fd__reader_free(&codec->rd[i]);
        }
        fd__enc_free(codec);
        free(codec);
}

static fd__writer *find_writer(const fd_codec *codec, int32_t id)
{
        size_t i;

        for (i = 0; i < codec->writer_cnt; i++)
                if (codec->writers[i]->id == id)
                        return codec->writers[i];
        return NULL;
}

/* The new writer is owned by codec. */
int fd_codec_add_writer(fd_codec *codec, int32_t id, fd_event_kind kind,
                        const char *path, char *errstr, size_t errstr_size)
{
        fd__writer *w;

        if (!kind_ok(kind) || id < 0) {
                snprintf(errstr, errstr_size,
                         "cannot register schema id %" PRId32 " for %s: use "
                         "a non-negative id and the lead or crm kind",
                         id, path);
                return -1;
        }
        if (find_writer(codec, id)) {
                snprintf(errstr, errstr_size,
                         "schema id %" PRId32 " is registered twice (again "
                         "for %s); give each writer schema its own id",
                         id, path);
                return -1;
        }
        if (codec->writer_cnt == codec->writer_cap) {
                size_t cap = codec->writer_cap ? codec->writer_cap * 2 : 8;
                fd__writer **grown =
                        realloc(codec->writers, cap * sizeof(*grown));

                if (!grown) {
                        snprintf(errstr, errstr_size, "out of memory");
                        return -1;
                }
                codec->writers = grown;
                codec->writer_cap = cap;
        }
        w = fd__writer_new(&codec->rd[kind], kind, path, errstr, errstr_size);
        if (!w)
                return -1;
        w->id = id;
        codec->writers[codec->writer_cnt++] = w;
        return 0;
}

/* The new writer is owned by codec; a previous plain writer is released. */
int fd_codec_set_plain_writer(fd_codec *codec, fd_event_kind kind,
                              const char *path, char *errstr,
                              size_t errstr_size)
{
        fd__writer *w;

        if (!kind_ok(kind)) {
                snprintf(errstr, errstr_size,
                         "cannot set plain writer %s: use the lead or crm "
                         "kind",
                         path);
                return -1;
        }
        w = fd__writer_new(&codec->rd[kind], kind, path, errstr, errstr_size);
        if (!w)
                return -1;
        w->id = -1;
        fd__writer_destroy(codec->plain[kind]);
        codec->plain[kind] = w;
        return 0;
}

/* Chooses the writer schema and body of buf (see the framing rule above). */
static fd_decode_err pick_writer(fd_codec *codec, fd_event_kind kind,
                                 const uint8_t *buf, size_t len, fd__writer **w,
                                 size_t *skip, char *errstr, size_t errstr_size)
{
        const char *rec = fd__kind_record(kind);

        *w = NULL;
        *skip = 0;
        if (len == 0) {
                snprintf(errstr, errstr_size,
                         "value is empty (a tombstone?); producers must send "
                         "an Avro %s",
                         rec);
                return FD_DECODE_UNDECODABLE;
        }
        if (buf[0] == 0 && len >= 5) {
                int32_t id = (int32_t)((uint32_t)buf[1] << 24 |
                                       (uint32_t)buf[2] << 16 |
                                       (uint32_t)buf[3] << 8 | buf[4]);
                fd__writer *found = find_writer(codec, id);

                if (found && found->kind != kind) {
                        snprintf(errstr, errstr_size,
                                 "schema id %" PRId32 " is registered for %s, "
                                 "not %s; check the topic mapping of the "
                                 "producer and the schema id config",
                                 id, fd__kind_record(found->kind), rec);
                        return FD_DECODE_INCOMPATIBLE;
                }
                if (found) {
                        *w = found;
                        *skip = 5;
                        return FD_DECODE_OK;
                }
                if (!codec->plain[kind]) {
                        snprintf(errstr, errstr_size,
                                 "schema id %" PRId32 " is not registered for "
                                 "%s; add the producer's writer schema with "
                                 "this id to the funneld config",
                                 id, rec);
                        return FD_DECODE_UNKNOWN_SCHEMA;
                }
        }
        if (codec->plain[kind]) {
                *w = codec->plain[kind];
                return FD_DECODE_OK;
        }
        if (buf[0] == 0) {
                snprintf(errstr, errstr_size,
                         "value has only %zu bytes, too short for the "
                         "Confluent header (magic byte and 4-byte schema "
                         "id); check the producer's serializer",
                         len);
                return FD_DECODE_UNDECODABLE;
        }
        snprintf(errstr, errstr_size,
                 "value is neither Confluent framed (first byte 0x%02x, "
                 "expected 0x00 and a 4-byte schema id) nor readable as plain "
                 "Avro (no plain writer schema configured for %s); use the "
                 "Confluent serializer or configure a plain writer schema",
                 buf[0], rec);
        return FD_DECODE_BAD_MAGIC;
}

void fd_codec_use_avro_reader(fd_codec *codec, int on)
{
        codec->avro_reader = on != 0;
}

void fd_codec_use_avro_writer(fd_codec *codec, int on)
{
        codec->avro_writer = on != 0;
}

/* On success out owns the decoded strings; on error out is cleared. */
fd_decode_err fd_codec_decode(fd_codec *codec, fd_event_kind kind,
                              const void *buf, size_t len,
                              const fd_decode_limits *limits, fd_event *out,
                              char *errstr, size_t errstr_size)
{
        fd__writer *w = NULL;
        size_t skip = 0;
        fd_decode_err err;

        fd_event_clear(out);
        if (!kind_ok(kind)) {
                snprintf(errstr, errstr_size,
                         "cannot decode: unknown event kind %d", (int)kind);
                return FD_DECODE_INCOMPATIBLE;
        }
        if (limits && limits->max_bytes > 0 &&
            (uint64_t)len > (uint64_t)limits->max_bytes) {
                snprintf(errstr, errstr_size,
                         "value has %zu bytes, more than the limit of %" PRId64
                         "; shrink the producer's events or raise the limit",
                         len, limits->max_bytes);
                return FD_DECODE_OVERSIZED;
        }
        err = pick_writer(codec, kind, buf, len, &w, &skip, errstr,
                          errstr_size);
        const uint8_t *body = (const uint8_t *)buf + skip;

        /* Bodies the one pass leaves (invalid ones included) are checked
         * and read with avro-c, which say why. */
        if (err == FD_DECODE_OK &&
            (codec->avro_reader ||
             fd__scan_event(codec, w, body, len - skip,
                            limits ? limits->slab : NULL, out) != 0)) {
                fd_event_clear(out);
                err = fd__check_body(w->plan.root, body, len - skip, errstr,
                                     errstr_size);
                if (err == FD_DECODE_OK)
                        err = fd__read_event(codec, w, body, len - skip, out,
                                             errstr, errstr_size);
        }
        if (err == FD_DECODE_OK)
                err = fd__validate_event(out, limits, errstr, errstr_size);
        if (err != FD_DECODE_OK)
                fd_event_clear(out);
        return err;
}
