/* test_auth.c — bearer tokens and tenants (net/auth.c): token files with their errors by
 * line, the tenant a token maps to, and the headers that must not pass. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/err.h"
#include "net/auth.h"

static char paths[16][64];
static int n_paths;

static char *write_tmp(const char *text)
{
    assert_true(n_paths < 16);
    char *p = paths[n_paths++];
    snprintf(p, 64, "/tmp/lt-test-auth-XXXXXX");
    int fd = mkstemp(p);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    return p;
}

static void test_open_sides(void **state)
{
    (void)state;
    auth *a = NULL;
    char err[256] = "";
    auth_config cfg = {0};
    assert_int_equal(auth_load(&a, &cfg, err, sizeof err), 0);
    assert_false(auth_ingest_required(a));
    assert_false(auth_api_required(a));
    assert_int_equal(auth_ingest(a, NULL), 0);
    assert_int_equal(auth_api(a, "Bearer anything"), 0);
    assert_int_equal(auth_n_tenants(a), 1);
    assert_string_equal(auth_tenant_name(a, 0), "");
    auth_free(a);
}

static void test_flag_tokens(void **state)
{
    (void)state;
    auth *a = NULL;
    char err[256] = "";
    auth_config cfg = {.ingest_token = "in-secret-123", .api_token = "api.secret~456="};
    assert_int_equal(auth_load(&a, &cfg, err, sizeof err), 0);
    assert_true(auth_ingest_required(a));
    assert_true(auth_api_required(a));
    assert_int_equal(auth_ingest(a, "Bearer in-secret-123"), 0);
    assert_int_equal(auth_ingest(a, "bearer   in-secret-123  "), 0); /* scheme is case-blind */
    assert_int_equal(auth_ingest(a, NULL), -1);
    assert_int_equal(auth_ingest(a, ""), -1);
    assert_int_equal(auth_ingest(a, "in-secret-123"), -1);          /* no scheme */
    assert_int_equal(auth_ingest(a, "Basic in-secret-123"), -1);    /* another scheme */
    assert_int_equal(auth_ingest(a, "Bearer in-secret-12"), -1);    /* a prefix */
    assert_int_equal(auth_ingest(a, "Bearer in-secret-1234"), -1);  /* longer */
    assert_int_equal(auth_ingest(a, "Bearer IN-SECRET-123"), -1);   /* tokens are exact */
    assert_int_equal(auth_ingest(a, "Bearer api.secret~456="), -1); /* the other side's */
    assert_int_equal(auth_api(a, "Bearer api.secret~456="), 0);
    assert_int_equal(auth_api(a, "Bearer in-secret-123"), -1);
    auth_free(a);

    cfg = (auth_config){.ingest_token = "has space"};
    assert_int_equal(auth_load(&a, &cfg, err, sizeof err), LT_EINVAL);
    assert_non_null(strstr(err, "--ingest-token"));
    assert_null(strstr(err, "has space")); /* never the token itself */
}

static void test_tenant_files(void **state)
{
    (void)state;
    const char *ingest = write_tmp("# senders\n"
                                   "tok-acme-1 acme\n"
                                   "  tok-globex globex\n"
                                   "\n"
                                   "tok-default\n"
                                   "tok-acme-2\tacme\r\n");
    const char *api = write_tmp("api-acme acme\napi-globex globex\napi-initech initech\n");
    auth *a = NULL;
    char err[256] = "";
    auth_config cfg = {.ingest_tokens_file = ingest, .api_tokens_file = api};
    assert_int_equal(auth_load(&a, &cfg, err, sizeof err), 0);
    assert_int_equal(auth_n_tenants(a), 4); /* default, acme, globex, initech */
    int acme = auth_ingest(a, "Bearer tok-acme-1");
    int globex = auth_ingest(a, "Bearer tok-globex");
    assert_true(acme > 0 && globex > 0 && acme != globex);
    assert_string_equal(auth_tenant_name(a, (size_t)acme), "acme");
    assert_string_equal(auth_tenant_name(a, (size_t)globex), "globex");
    assert_int_equal(auth_ingest(a, "Bearer tok-acme-2"), acme);
    assert_int_equal(auth_ingest(a, "Bearer tok-default"), 0);
    assert_int_equal(auth_api(a, "Bearer api-acme"), acme);
    assert_int_equal(auth_api(a, "Bearer api-globex"), globex);
    int initech = auth_api(a, "Bearer api-initech");
    assert_string_equal(auth_tenant_name(a, (size_t)initech), "initech");
    assert_int_equal(auth_api(a, "Bearer tok-acme-1"), -1);
    auth_free(a);
}

static void expect_file_error(const char *text, const char *want)
{
    auth *a = NULL;
    char err[256] = "";
    auth_config cfg = {.api_tokens_file = write_tmp(text)};
    int rc = auth_load(&a, &cfg, err, sizeof err);
    assert_int_not_equal(rc, 0);
    if (!strstr(err, want)) fail_msg("error '%s' does not say '%s'", err, want);
}

static void test_file_errors(void **state)
{
    (void)state;
    expect_file_error("ok-token acme\nbad\"token acme\n", ":2: a token is");
    expect_file_error("ok-token acme/x\n", ":1: a tenant name is");
    expect_file_error("ok-token acme extra\n", ":1: expected TOKEN [TENANT]");
    expect_file_error("same acme\nsame globex\n", ":2: the token is given twice");
    expect_file_error("# only a comment\n\n", "no token in the file");
    auth *a = NULL;
    char err[256] = "";
    auth_config cfg = {.ingest_tokens_file = "/nonexistent/tokens"};
    assert_int_equal(auth_load(&a, &cfg, err, sizeof err), LT_EIO);
    assert_non_null(strstr(err, "/nonexistent/tokens"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_open_sides),
        cmocka_unit_test(test_flag_tokens),
        cmocka_unit_test(test_tenant_files),
        cmocka_unit_test(test_file_errors),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    for (int i = 0; i < n_paths; i++)
        unlink(paths[i]);
    return failed;
}
