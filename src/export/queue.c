/* queue.c — the on-disk sending queue (sending_queue.directory).
 *
 * One file per batch, named by its sequence number in hex (0000000000000001.batch), so the
 * directory lists in arrival order. A batch is written to NAME.tmp, synced and renamed, so
 * a file with the final name is always whole; a crash leaves at most a .tmp, removed at the
 * next start. The file starts with a 32-byte header (all little-endian):
 *
 *   0  "LTQ1"        magic and version
 *   4  'T', 'M', 'L' traces, metrics or logs
 *   5  3 zero bytes
 *   8  u64           items (spans, data points or log records)
 *   16 u64           payload length
 *   24 u32           CRC-32 of the payload
 *   28 u32           CRC-32 of bytes 0..27
 *
 * and the payload (the encoded batch) follows. At start the headers are read and checked
 * (the payloads only when their turn comes, so a large backlog costs little memory); a file
 * that fails a check is renamed NAME.corrupt, logged, and left for the operator. The
 * directory is locked (flock on DIR/.lock) so two exporters or two processes never share
 * it. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "core/alloc.h"
#include "core/err.h"
#include "core/log.h"
#include "export/export_int.h"

static const char MAGIC[4] = {'L', 'T', 'Q', '1'};

static void put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_u64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static void put_u32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint32_t crc(const void *p, size_t n)
{
    uLong c = crc32(0L, Z_NULL, 0);
    const Bytef *b = p;
    while (n) { /* crc32 takes a uInt length */
        uInt k = n > (1u << 30) ? (1u << 30) : (uInt)n;
        c = crc32(c, b, k);
        b += k;
        n -= k;
    }
    return (uint32_t)c;
}

int dq_parse_header(const uint8_t *p, size_t n, unsigned *signal, uint64_t *n_items,
                    uint64_t *payload_len, uint32_t *payload_crc)
{
    if (n < DQ_HEADER || memcmp(p, MAGIC, 4)) return LT_EINVAL;
    if (p[4] != 'T' && p[4] != 'M' && p[4] != 'L') return LT_EINVAL;
    if (p[5] || p[6] || p[7]) return LT_EINVAL;
    if (get_u32(p + 28) != crc(p, 28)) return LT_EINVAL;
    *signal = p[4] == 'T' ? SIG_TRACES : p[4] == 'M' ? SIG_METRICS : SIG_LOGS;
    *n_items = get_u64(p + 8);
    *payload_len = get_u64(p + 16);
    *payload_crc = get_u32(p + 24);
    return 0;
}

static void path_of(const exporter *ex, uint64_t seq, const char *ext, char *out, size_t n)
{
    snprintf(out, n, "%s/%016" PRIx64 "%s", ex->dir, seq, ext);
}

/* NAME -> NAME.corrupt, so the next start does not trip on it again. */
static void set_aside(const char *path, const char *why)
{
    char bad[PATH_MAX + 16];
    snprintf(bad, sizeof bad, "%s.corrupt", path);
    if (rename(path, bad))
        log_warn("disk queue: %s is damaged (%s) and could not be renamed: %s", path, why,
                 strerror(errno));
    else
        log_warn("disk queue: %s is damaged (%s); renamed to %s", path, why, bad);
}

static int read_all(int fd, void *p, size_t n)
{
    uint8_t *b = p;
    while (n) {
        ssize_t k = read(fd, b, n);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) return LT_EIO;
        b += k;
        n -= (size_t)k;
    }
    return 0;
}

static int write_all(int fd, const void *p, size_t n)
{
    const uint8_t *b = p;
    while (n) {
        ssize_t k = write(fd, b, n);
        if (k < 0 && errno == EINTR) continue;
        if (k < 0) return -1;
        b += k;
        n -= (size_t)k;
    }
    return 0;
}

static int cmp_seq(const void *a, const void *b)
{
    const ex_item *x = *(ex_item *const *)a, *y = *(ex_item *const *)b;
    return (x->seq > y->seq) - (x->seq < y->seq);
}

/* A queue file's name: 16 hex digits and ext. */
static bool seq_name(const char *name, const char *ext, uint64_t *seq)
{
    size_t n = strlen(name), e = strlen(ext);
    if (n != 16 + e || strcmp(name + 16, ext)) return false;
    uint64_t v = 0;
    for (int i = 0; i < 16; i++) {
        char c = name[i];
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
        if (d < 0) return false;
        v = v << 4 | (uint64_t)d;
    }
    *seq = v;
    return true;
}

/* Reads one file's header into a new on-disk item; NULL when damaged (set aside). */
static int load_one(exporter *ex, const char *name, uint64_t seq, ex_item **out)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", ex->dir, name);
    *out = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        log_warn("disk queue: cannot open %s: %s", path, strerror(errno));
        return 0;
    }
    uint8_t h[DQ_HEADER];
    struct stat st;
    unsigned signal = 0;
    uint64_t n_items = 0, len = 0;
    uint32_t c;
    bool ok = !fstat(fd, &st) && !read_all(fd, h, sizeof h) &&
              !dq_parse_header(h, sizeof h, &signal, &n_items, &len, &c) &&
              (uint64_t)st.st_size == DQ_HEADER + len && len <= SIZE_MAX / 2;
    close(fd);
    if (!ok) {
        set_aside(path, "bad header or length");
        return 0;
    }
    ex_item *it = lt_calloc(1, sizeof *it);
    if (!it) return LT_ENOMEM;
    *it = (ex_item){
        .signal = signal, .n_items = n_items, .seq = seq, .size = (size_t)len, .on_disk = true};
    *out = it;
    return 0;
}

int dq_open(exporter *ex, char *err, size_t errlen)
{
    if (strlen(ex->dir) > PATH_MAX - 64) {
        if (err) snprintf(err, errlen, "exporters.%s: sending_queue.directory is too long", ex->id);
        return LT_EINVAL;
    }
    if (mkdir(ex->dir, 0700) && errno != EEXIST) {
        if (err)
            snprintf(err, errlen, "exporters.%s: cannot create the queue directory %s: %s", ex->id,
                     ex->dir, strerror(errno));
        return LT_EIO;
    }
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/.lock", ex->dir);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0 || flock(fd, LOCK_EX | LOCK_NB)) {
        int e = errno;
        if (fd >= 0) close(fd);
        if (err)
            snprintf(err, errlen, "exporters.%s: the queue directory %s %s", ex->id, ex->dir,
                     e == EWOULDBLOCK ? "is in use by another exporter or process" : strerror(e));
        return LT_EIO;
    }
    ex->dir_lock = fd;

    DIR *d = opendir(ex->dir);
    if (!d) {
        if (err)
            snprintf(err, errlen, "exporters.%s: cannot read %s: %s", ex->id, ex->dir,
                     strerror(errno));
        return LT_EIO;
    }
    ex_item **items = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;
    for (struct dirent *e; !rc && (e = readdir(d));) {
        uint64_t seq;
        if (seq_name(e->d_name, ".tmp", &seq)) {
            snprintf(path, sizeof path, "%s/%s", ex->dir, e->d_name);
            unlink(path); /* a write that never finished: never acknowledged as queued */
            continue;
        }
        if (!seq_name(e->d_name, ".batch", &seq)) continue;
        ex_item *it;
        if ((rc = load_one(ex, e->d_name, seq, &it)) || !it) continue;
        if (n == cap) {
            size_t nc = cap ? 2 * cap : 64;
            ex_item **ni = lt_realloc(items, nc * sizeof *ni);
            if (!ni) {
                lt_free(it);
                rc = LT_ENOMEM;
                break;
            }
            items = ni;
            cap = nc;
        }
        items[n++] = it;
    }
    closedir(d);
    if (rc) {
        for (size_t i = 0; i < n; i++)
            lt_free(items[i]);
        lt_free(items);
        if (err) snprintf(err, errlen, "exporters.%s: out of memory reading the queue", ex->id);
        return rc;
    }
    if (n) qsort(items, n, sizeof *items, cmp_seq);
    uint64_t total = 0;
    pthread_mutex_lock(&ex->mu);
    for (size_t i = 0; i < n; i++) {
        ex_item *it = items[i];
        ex_link(ex, it);
        total += it->n_items;
        if (it->seq >= ex->next_seq) ex->next_seq = it->seq + 1;
    }
    pthread_mutex_unlock(&ex->mu);
    lt_free(items);
    if (n)
        log_info("exporter %s: %zu batches (%" PRIu64 " items) queued in %s from before", ex->id, n,
                 total, ex->dir);
    return 0;
}

int dq_write(exporter *ex, const ex_item *it)
{
    char tmp[PATH_MAX], final[PATH_MAX];
    path_of(ex, it->seq, ".tmp", tmp, sizeof tmp);
    path_of(ex, it->seq, ".batch", final, sizeof final);
    uint8_t h[DQ_HEADER] = {0};
    memcpy(h, MAGIC, 4);
    h[4] = it->signal == SIG_TRACES ? 'T' : it->signal == SIG_METRICS ? 'M' : 'L';
    put_u64(h + 8, it->n_items);
    put_u64(h + 16, it->data.len);
    put_u32(h + 24, crc(it->data.data ? it->data.data : "", it->data.len));
    put_u32(h + 28, crc(h, 28));
    errno = 0;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    int e = 0;
    if (fd < 0 || write_all(fd, h, sizeof h) || write_all(fd, it->data.data, it->data.len) ||
        fdatasync(fd))
        e = errno ? errno : EIO;
    if (fd >= 0 && close(fd) && !e) e = errno;
    if (!e && rename(tmp, final)) e = errno;
    if (e) {
        unlink(tmp);
        log_warn("exporter %s: cannot queue a batch in %s: %s", ex->id, ex->dir, strerror(e));
        return LT_EIO;
    }
    return 0;
}

int dq_read(exporter *ex, ex_item *it)
{
    char path[PATH_MAX];
    path_of(ex, it->seq, ".batch", path, sizeof path);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        log_warn("exporter %s: cannot open %s: %s", ex->id, path, strerror(errno));
        return LT_EIO;
    }
    uint8_t h[DQ_HEADER];
    unsigned signal;
    uint64_t n_items, len;
    uint32_t c;
    int rc = 0;
    it->data.len = 0;
    if (read_all(fd, h, sizeof h) || dq_parse_header(h, sizeof h, &signal, &n_items, &len, &c) ||
        len != it->size) {
        rc = LT_EINVAL;
    } else if (buf_reserve(&it->data, (size_t)len)) {
        rc = LT_ENOMEM;
    } else if (read_all(fd, it->data.data, (size_t)len)) {
        rc = LT_EINVAL;
    } else {
        it->data.len = (size_t)len;
        it->data.data[len] = 0;
        if (crc(it->data.data, it->data.len) != c) rc = LT_EINVAL;
    }
    close(fd);
    if (rc == LT_EINVAL) {
        buf_free(&it->data);
        set_aside(path, "its content does not match its header");
    }
    return rc;
}

void dq_remove(exporter *ex, const ex_item *it)
{
    char path[PATH_MAX];
    path_of(ex, it->seq, ".batch", path, sizeof path);
    if (unlink(path) && errno != ENOENT)
        log_warn("exporter %s: cannot remove %s: %s", ex->id, path, strerror(errno));
}

void dq_close(exporter *ex)
{
    if (ex->dir_lock >= 0) close(ex->dir_lock);
    ex->dir_lock = -1;
}
