/* test_ui.c — the embedded web UI (ui/): which file answers which path.
 *
 * The files on disk in src/ui/ are the reference: every one of them (the C sources aside)
 * must be embedded byte for byte, with the Content-Type its extension calls for and an
 * ETag that is the SHA-256 of its bytes, and nothing else may be embedded. Then the path
 * rules of ui.h: app paths give index.html, unknown assets and paths with bad segments are
 * not found, paths outside the UI are left to the API; and If-None-Match matching. */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/err.h"
#include "ui/ui.h"
#include "ui/ui_int.h"

#define UI_DIR LT_SOURCE_DIR "/src/ui"

/* ---- the files on disk ---- */

typedef struct {
    char rel[256];
    unsigned char *data;
    size_t len;
} disk_file;

static disk_file disk[256];
static size_t n_disk;

static bool skipped(const char *name)
{
    size_t n = strlen(name);
    return name[0] == '.' || name[n - 1] == '~' ||
           (n > 2 && name[n - 2] == '.' && (name[n - 1] == 'c' || name[n - 1] == 'h'));
}

static void read_dir(const char *rel)
{
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/%s", UI_DIR, rel);
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *e;
    while ((e = readdir(d))) {
        if (skipped(e->d_name)) continue;
        char sub[512], full[1536];
        snprintf(sub, sizeof sub, "%s%s%s", rel, *rel ? "/" : "", e->d_name);
        snprintf(full, sizeof full, "%s/%s", UI_DIR, sub);
        struct stat st;
        assert_int_equal(stat(full, &st), 0);
        if (S_ISDIR(st.st_mode)) {
            read_dir(sub);
            continue;
        }
        assert_true(n_disk < sizeof disk / sizeof disk[0]);
        disk_file *f = &disk[n_disk++];
        assert_true(snprintf(f->rel, sizeof f->rel, "%s", sub) < (int)sizeof f->rel);
        FILE *fp = fopen(full, "rb");
        assert_non_null(fp);
        f->len = (size_t)st.st_size;
        f->data = malloc(f->len + 1);
        assert_non_null(f->data);
        assert_int_equal(fread(f->data, 1, f->len, fp), f->len);
        fclose(fp);
    }
    closedir(d);
}

static int load_disk(void **state)
{
    (void)state;
    read_dir("");
    return n_disk ? 0 : -1;
}

static int free_disk(void **state)
{
    (void)state;
    for (size_t i = 0; i < n_disk; i++)
        free(disk[i].data);
    return 0;
}

/* The type each extension must be served with; a file of any other kind fails the test,
 * so that nothing is served as application/octet-stream by accident. */
static const char *expected_type(const char *name)
{
    static const char *const want[][2] = {
        {".html", "text/html; charset=utf-8"},
        {".js", "text/javascript; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},
        {".svg", "image/svg+xml"},
    };
    const char *dot = strrchr(name, '.');
    for (size_t i = 0; dot && i < sizeof want / sizeof want[0]; i++)
        if (strcmp(dot, want[i][0]) == 0) return want[i][1];
    fail_msg("%s: no expected Content-Type for this kind of file", name);
    return NULL;
}

static void lookup_ok(const char *path, ui_asset *out)
{
    int rc = ui_lookup(lt_str_c(path), out);
    if (rc) fail_msg("ui_lookup(%s) = %d, expected 0", path, rc);
}

static void lookup_none(const char *path)
{
    ui_asset a = {0};
    int rc = ui_lookup(lt_str_c(path), &a);
    if (rc != LT_ENOTFOUND)
        fail_msg("ui_lookup(%s) = %d (%s), expected LT_ENOTFOUND", path, rc, a.name ? a.name : "");
}

/* ---- cases ---- */

static void test_every_file_embedded(void **state)
{
    (void)state;
    assert_int_equal(ui_files_count, n_disk);
    bool have_index = false;
    for (size_t i = 0; i < n_disk; i++) {
        const disk_file *f = &disk[i];
        char path[300];
        assert_true(snprintf(path, sizeof path, "/ui/%s", f->rel) < (int)sizeof path);
        ui_asset a;
        lookup_ok(path, &a);
        assert_string_equal(a.name, f->rel);
        assert_int_equal(a.len, f->len);
        assert_memory_equal(a.data, f->data, f->len);
        assert_int_equal(a.data[a.len], 0);
        assert_string_equal(a.content_type, expected_type(f->rel));
        /* the ETag is the quoted first 20 hex digits of the bytes' SHA-256 */
        unsigned char md[32];
        unsigned int mdlen = 0;
        assert_int_equal(EVP_Digest(f->data, f->len, md, &mdlen, EVP_sha256(), NULL), 1);
        char etag[32] = "\"";
        for (int j = 0; j < 10; j++)
            snprintf(etag + 1 + 2 * j, sizeof etag - 1 - 2 * j, "%02x", md[j]);
        etag[21] = '"';
        etag[22] = 0;
        assert_string_equal(a.etag, etag);
        have_index |= strcmp(f->rel, "index.html") == 0;
    }
    assert_true(have_index);
}

static void test_app_paths_give_index(void **state)
{
    (void)state;
    const char *paths[] = {
        "/",
        "/ui",
        "/ui/",
        "/ui/traces",
        "/ui/traces/",
        "/ui/trace/4bf92f3577b34da6a3ce929d0e0e4736",
        "/ui/trace/4bf92f3577b34da6a3ce929d0e0e4736/graph",
        "/ui/compare/4bf92f3577b34da6a3ce929d0e0e4736/00f067aa0ba902b7aaaaaaaaaaaaaaaa",
        "/ui/dashboard",
        "/ui/no/such/page",
        "/ui/pages/",
        "/ui/service/my%20svc",
        "/ui/x/%2e%2e%2e",
        "/ui/x/%2ex",
    };
    ui_asset index;
    lookup_ok("/ui/index.html", &index);
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        ui_asset a;
        lookup_ok(paths[i], &a);
        assert_string_equal(a.name, "index.html");
        assert_ptr_equal(a.data, index.data);
        assert_string_equal(a.content_type, "text/html; charset=utf-8");
        assert_true(ui_path(lt_str_c(paths[i])));
    }
}

static void test_unknown_assets(void **state)
{
    (void)state;
    const char *paths[] = {"/ui/nope.js",     "/ui/pages/nope.js", "/ui/index.htm", "/ui/APP.JS",
                           "/ui/app.js.map",  "/ui/ui.c",          "/ui/ui.h",      "/ui/ui_int.h",
                           "/ui/favicon.ico", "/ui/.hidden",       "/ui/trace/x.y"};
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        lookup_none(paths[i]);
        assert_true(ui_path(lt_str_c(paths[i]))); /* a UI 404, not passed on to the API */
    }
}

static void test_outside_the_ui(void **state)
{
    (void)state;
    const char *paths[] = {"",        "/api/traces", "/api/ui/app.js", "/metrics", "/uix",
                           "/ui.js",  "/UI",         "/UI/app.js",     "//ui/",    "/index.html",
                           "/app.js", "ui/app.js",   "/v1/traces"};
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        if (ui_path(lt_str_c(paths[i]))) fail_msg("ui_path(%s) is true", paths[i]);
        lookup_none(paths[i]);
    }
}

static void test_no_traversal(void **state)
{
    (void)state;
    const char *paths[] = {
        "/ui/../ui/app.js",
        "/ui/./app.js",
        "/ui//app.js",
        "/ui/pages/../app.js",
        "/ui/..",
        "/ui/../",
        "/ui/.",
        "/ui/pages/..",
        "/ui/../../../../etc/passwd",
        "/ui/trace/../../api/traces",
        "/ui/%2e%2e/app.js",
        "/ui/%2E%2e/api/traces",
        "/ui/.%2e/x",
        "/ui/%2e/traces",
        "/ui/trace/%2E%2E",
        "/ui/..%2fapp.js",
        "/ui/pages%2f..%2fapp.js",
        "/ui/pages\\..\\app.js",
        "/ui/app.js\\",
        "/ui/..\\ui.c",
    };
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++)
        lookup_none(paths[i]);
    /* a NUL inside the path never cuts it short into a known name */
    static const char nul[] = "/ui/app.js\0.png";
    ui_asset a;
    assert_int_equal(ui_lookup((lt_str){nul, sizeof nul - 1}, &a), LT_ENOTFOUND);
    static const char nul2[] = "/ui/trace/\0/x";
    assert_int_equal(ui_lookup((lt_str){nul2, sizeof nul2 - 1}, &a), LT_ENOTFOUND);
}

static void test_etag_match(void **state)
{
    (void)state;
    const char *tag = "\"493beaafb702383cf270\"";
    const char *yes[] = {
        "\"493beaafb702383cf270\"",
        "W/\"493beaafb702383cf270\"",
        "\"x\", \"493beaafb702383cf270\"",
        "\"x\",W/\"493beaafb702383cf270\" , \"y\"",
        " \t\"493beaafb702383cf270\"\t",
        ",, \"493beaafb702383cf270\"",
        "*",
        " * ",
    };
    const char *no[] = {
        "",
        "\"493beaafb702383cf27\"",
        "\"493beaafb702383cf2700\"",
        "493beaafb702383cf270",
        "\"493beaafb702383cf270",
        "w/\"493beaafb702383cf270\"",
        "\"x\" \"493beaafb702383cf270\"",
        "\"x\", junk, \"493beaafb702383cf270\"",
        "*, \"x\"",
        "\"\"",
    };
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++)
        if (!ui_etag_match(lt_str_c(yes[i]), tag))
            fail_msg("If-None-Match: %s should match", yes[i]);
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++)
        if (ui_etag_match(lt_str_c(no[i]), tag))
            fail_msg("If-None-Match: %s should not match", no[i]);
}

static void test_content_types(void **state)
{
    (void)state;
    assert_string_equal(ui_content_type("a/b.js"), "text/javascript; charset=utf-8");
    assert_string_equal(ui_content_type("x.html"), "text/html; charset=utf-8");
    assert_string_equal(ui_content_type("js"), "application/octet-stream");
    assert_string_equal(ui_content_type(".js.bak"), "application/octet-stream");
    assert_string_equal(ui_content_type("font.woff3"), "application/octet-stream");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_file_embedded), cmocka_unit_test(test_app_paths_give_index),
        cmocka_unit_test(test_unknown_assets),      cmocka_unit_test(test_outside_the_ui),
        cmocka_unit_test(test_no_traversal),        cmocka_unit_test(test_etag_match),
        cmocka_unit_test(test_content_types),
    };
    return cmocka_run_group_tests(tests, load_disk, free_disk);
}
