/* file.c — the file exporter: OTLP JSON lines, rotated as the collector's file exporter.
 *
 * Each request is one line: an ExportTraceServiceRequest, ExportMetricsServiceRequest or
 * ExportLogsServiceRequest in the OTLP JSON form (otlp/json.h writes no newline inside), so
 * `jq -c` or the collector's otlpjsonfile receiver reads the file back. A request is one
 * batch, or with batching several batches of a signal joined (file_join). Writes go through stdio's
 * buffer, flushed every flush_interval by the consumer thread and at stop.
 *
 * Without `rotation` the file is truncated at start (the collector's default, append:
 * false). With it, as lumberjack (which the collector uses) does: the file is appended to;
 * a line that would take it past max_megabytes first moves it aside to
 * NAME-TIMESTAMP.EXT (2006-01-02T15-04-05.000, UTC unless localtime) and starts a new one;
 * then backups past max_backups (oldest first) and older than max_days are removed, as
 * they are at start. A line longer than max_megabytes is written alone into a fresh file
 * rather than lost. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/err.h"
#include "core/log.h"
#include "core/util.h"
#include "export/export_int.h"

enum {
    STAMP_LEN = 23, /* 2006-01-02T15-04-05.000 */
    FILE_BUFFER = 64 << 10,
};

int file_parse(const ex_cfg *c, const cfg_node *settings, ex_file *f)
{
    const char *path = NULL;
    int rc;
    if ((rc = ex_opt_string(c, settings, "path", &path))) return rc;
    const cfg_node *at = cfg_get(settings, "path");
    if (!path || !*path)
        return ex_error(c, at ? at : settings, "path", path ? "is empty" : "is required");
    if (strlen(path) > PATH_MAX - 64) return ex_error(c, at, "path", "too long");
    char copy[PATH_MAX];
    snprintf(copy, sizeof copy, "%s", path);
    const char *dir = dirname(copy);
    struct stat st;
    if (stat(dir, &st) || !S_ISDIR(st.st_mode))
        return ex_error(c, at, "path", "the directory %s does not exist", dir);
    if (!(f->path = lt_strndup(path, strlen(path)))) return LT_ENOMEM;

    f->flush_ns = 1000000000ull;
    if ((rc = ex_opt_duration(c, settings, "flush_interval", true, &f->flush_ns))) return rc;

    const cfg_node *r = cfg_get(settings, "rotation");
    if (!r) return 0;
    f->rotate = true;
    int64_t mb = 100, days = 0, backups = 100;
    ex_cfg s;
    char w[256];
    ex_sub(c, "rotation", &s, w, sizeof w);
    if ((rc = ex_opt_int(&s, r, "max_megabytes", 1, 1 << 20, &mb)) ||
        (rc = ex_opt_int(&s, r, "max_days", 0, 100000, &days)) ||
        (rc = ex_opt_int(&s, r, "max_backups", 0, 100000, &backups)) ||
        (rc = ex_opt_bool(&s, r, "localtime", &f->localtime)))
        return rc;
    f->max_bytes = (uint64_t)mb << 20;
    f->max_days = days;
    f->max_backups = backups;
    return 0;
}

/* ---- backups ---- */

/* The path split as lumberjack does: DIR/PREFIX + EXT, EXT from the base's last dot. */
static void split(const char *path, char *dir, char *prefix, char *ext)
{
    char tmp[PATH_MAX];
    snprintf(tmp, sizeof tmp, "%s", path);
    snprintf(dir, PATH_MAX, "%s", dirname(tmp));
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    const char *dot = strrchr(base, '.');
    if (!dot) dot = base + strlen(base);
    snprintf(prefix, PATH_MAX, "%.*s", (int)(dot - base), base);
    snprintf(ext, PATH_MAX, "%s", dot);
}

static void stamp(uint64_t ns, bool local, char out[STAMP_LEN + 1])
{
    time_t t = (time_t)(ns / 1000000000u);
    struct tm tm;
    if (local)
        localtime_r(&t, &tm);
    else
        gmtime_r(&t, &tm);
    char s[20]; /* 2006-01-02T15-04-05 */
    if (strftime(s, sizeof s, "%Y-%m-%dT%H-%M-%S", &tm) != 19) memcpy(s, "0000-00-00T00-00-00", 20);
    snprintf(out, STAMP_LEN + 1, "%.19s.%03u", s, (unsigned)(ns / 1000000u % 1000u));
}

/* The time of a backup's stamp in ns, or 0 when name is not a backup of prefix/ext. */
static uint64_t backup_time(const char *name, const char *prefix, const char *ext, bool local)
{
    size_t np = strlen(prefix), ne = strlen(ext), n = strlen(name);
    if (n != np + 1 + STAMP_LEN + ne || strncmp(name, prefix, np) || name[np] != '-' ||
        strcmp(name + np + 1 + STAMP_LEN, ext))
        return 0;
    const char *s = name + np + 1;
    struct tm tm = {0};
    const char *end = strptime(s, "%Y-%m-%dT%H-%M-%S", &tm);
    if (!end || *end != '.') return 0;
    uint64_t ms;
    if (parse_u64((lt_str){end + 1, 3}, &ms)) return 0;
    tm.tm_isdst = -1;
    time_t t = local ? mktime(&tm) : timegm(&tm);
    if (t <= 0) return 0;
    return (uint64_t)t * 1000000000ull + ms * 1000000ull;
}

typedef struct {
    char *name;
    uint64_t t;
} backup;

static int newest_first(const void *a, const void *b)
{
    const backup *x = a, *y = b;
    return (x->t < y->t) - (x->t > y->t);
}

/* Removes backups past max_backups and older than max_days. */
static void prune(exporter *ex)
{
    ex_file *f = &ex->file;
    if (!f->max_backups && !f->max_days) return;
    char dir[PATH_MAX], prefix[PATH_MAX], ext[PATH_MAX];
    split(f->path, dir, prefix, ext);
    DIR *d = opendir(dir);
    if (!d) return;
    backup *v = NULL;
    size_t n = 0, cap = 0;
    for (struct dirent *e; (e = readdir(d));) {
        uint64_t t = backup_time(e->d_name, prefix, ext, f->localtime);
        if (!t) continue;
        if (n == cap) {
            size_t nc = cap ? 2 * cap : 16;
            backup *nv = lt_realloc(v, nc * sizeof *nv);
            if (!nv) break;
            v = nv;
            cap = nc;
        }
        if (!(v[n].name = lt_strndup(e->d_name, strlen(e->d_name)))) break;
        v[n++].t = t;
    }
    closedir(d);
    if (n) qsort(v, n, sizeof *v, newest_first);
    uint64_t now = time_now_ns();
    uint64_t max_age = (uint64_t)f->max_days * 86400ull * 1000000000ull;
    for (size_t i = 0; i < n; i++) {
        bool old = f->max_days && v[i].t + max_age < now;
        if ((f->max_backups && i >= (size_t)f->max_backups) || old) {
            char path[PATH_MAX + 256];
            snprintf(path, sizeof path, "%s/%s", dir, v[i].name);
            if (unlink(path) && errno != ENOENT)
                log_warn("exporter %s: cannot remove %s: %s", ex->id, path, strerror(errno));
        }
        lt_free(v[i].name);
    }
    lt_free(v);
}

static int open_file(exporter *ex, bool truncate)
{
    ex_file *f = &ex->file;
    int fd = open(f->path, O_WRONLY | O_CREAT | O_CLOEXEC | (truncate ? O_TRUNC : O_APPEND), 0600);
    if (fd < 0) return -1;
    struct stat st;
    if (fstat(fd, &st) || !(f->f = fdopen(fd, truncate ? "w" : "a"))) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    setvbuf(f->f, NULL, _IOFBF, FILE_BUFFER);
    f->size = (uint64_t)st.st_size;
    return 0;
}

/* Moves the file aside and opens a new one. 0, or -1 with errno. */
static int rotate(exporter *ex)
{
    ex_file *f = &ex->file;
    if (f->f) {
        int bad = fclose(f->f);
        f->f = NULL;
        f->dirty = false;
        if (bad) return -1;
    }
    char dir[PATH_MAX], prefix[PATH_MAX], ext[PATH_MAX], path[3 * PATH_MAX];
    split(f->path, dir, prefix, ext);
    uint64_t ns = time_now_ns();
    struct stat st;
    for (int i = 0; i < 1000; i++, ns += 1000000u) { /* a free name, a millisecond later */
        char s[STAMP_LEN + 1];
        stamp(ns, f->localtime, s);
        int k = snprintf(path, sizeof path, "%s/%s-%s%s", dir, prefix, s, ext);
        if (k < 0 || (size_t)k >= sizeof path) {
            errno = ENAMETOOLONG;
            return -1;
        }
        if (stat(path, &st)) break;
    }
    if (rename(f->path, path) && errno != ENOENT) return -1;
    if (open_file(ex, true)) return -1;
    prune(ex);
    return 0;
}

int file_open(exporter *ex, char *err, size_t errlen)
{
    ex_file *f = &ex->file;
    if (open_file(ex, !f->rotate)) {
        if (err)
            snprintf(err, errlen, "exporters.%s: cannot open %s: %s", ex->id, f->path,
                     strerror(errno));
        return LT_EIO;
    }
    if (f->rotate) {
        if (f->size >= f->max_bytes && rotate(ex)) {
            if (err)
                snprintf(err, errlen, "exporters.%s: cannot rotate %s: %s", ex->id, f->path,
                         strerror(errno));
            return LT_EIO;
        }
        prune(ex);
    }
    return 0;
}

void file_attempt(exporter *ex, ex_consumer *c, const ex_item *it, ex_result *r)
{
    (void)c;
    ex_file *f = &ex->file;
    uint64_t need = it->data.len + 1;
    r->outcome = EX_PERMANENT;
    if (f->rotate && (!f->f || (f->size > 0 && f->size + need > f->max_bytes)) && rotate(ex)) {
        snprintf(r->msg, sizeof r->msg, "cannot rotate %s: %s", f->path, strerror(errno));
        return;
    }
    if (!f->f) {
        snprintf(r->msg, sizeof r->msg, "%s is not open", f->path);
        return;
    }
    if (fwrite(it->data.data, 1, it->data.len, f->f) != it->data.len || fputc('\n', f->f) == EOF) {
        snprintf(r->msg, sizeof r->msg, "cannot write %s: %s", f->path, strerror(errno));
        clearerr(f->f);
        return;
    }
    f->size += need;
    if (!f->dirty) f->next_flush_ns = time_mono_ns() + f->flush_ns;
    f->dirty = true;
    r->outcome = EX_SENT;
}

int file_join(lt_buf *out, const lt_buf *line, bool *any)
{
    const char *p = line->data;
    size_t n = line->len;
    const char *open = p ? memchr(p, '[', n) : NULL;
    if (!open || n < 2 || p[n - 2] != ']' || p[n - 1] != '}') return LT_EINVAL;
    size_t from = (size_t)(open - p) + 1, to = n - 2;
    if (from > to) return LT_EINVAL;
    if (!out->len) buf_append(out, p, from); /* {"resourceSpans":[ */
    if (to > from) {
        if (*any) buf_putc(out, ',');
        buf_append(out, p + from, to - from);
        *any = true;
    }
    return out->oom ? LT_ENOMEM : 0;
}

void file_flush(exporter *ex, bool force)
{
    ex_file *f = &ex->file;
    if (!f->f || !f->dirty || (!force && time_mono_ns() < f->next_flush_ns)) return;
    if (fflush(f->f))
        log_warn("exporter %s: cannot write %s: %s", ex->id, f->path, strerror(errno));
    f->dirty = false;
}

void file_close(exporter *ex)
{
    ex_file *f = &ex->file;
    if (!f->f) return;
    file_flush(ex, true);
    if (fclose(f->f)) log_warn("exporter %s: closing %s: %s", ex->id, f->path, strerror(errno));
    f->f = NULL;
}
