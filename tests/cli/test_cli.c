/* test_cli.c - unit tests for vfleetctl's building blocks: terminal
 * escaping, the reachability probe, options mixed with operands, request
 * parameters. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "cli.h"
#include "cli_client.h"
#include "cli_print.h"
#include "cli_probe.h"

static void s_expect_escape(const char *in, const char *want)
{
    char *got = cli_print_escape(in);
    assert_string_equal(got, want);
    free(got);
}

static void test_escape_controls(void **state)
{
    (void)state;
    s_expect_escape("hv-01", "hv-01");
    s_expect_escape("a\x1b[31mb", "a\\x1b[31mb");
    s_expect_escape("one\ntwo\tthree\rfour", "one\\ntwo\\tthree\\rfour");
    s_expect_escape("bell\x07 del\x7f", "bell\\x07 del\\x7f");
    s_expect_escape("back\\slash", "back\\\\slash");
    s_expect_escape("", "");
}

static void test_escape_keeps_utf8_but_not_c1(void **state)
{
    (void)state;
    /* é and € pass; U+009B (CSI, a C1 control) does not. */
    s_expect_escape("caf\xc3\xa9 \xe2\x82\xac", "caf\xc3\xa9 \xe2\x82\xac");
    s_expect_escape("x\xc2\x9b"
                    "31m",
                    "x\\u009b31m");
    s_expect_escape("\xc2\xa0nbsp", "\xc2\xa0nbsp");
}

static void s_tempdir(char *dir, size_t size)
{
    snprintf(dir, size, "/tmp/vfleet-cli-test.XXXXXX");
    assert_non_null(mkdtemp(dir));
}

/* A unix socket at path, listening or only bound. */
static int s_unix_socket(const char *path, bool listening)
{
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", path);
    assert_int_equal(bind(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
    if (listening)
        assert_int_equal(listen(fd, 1), 0);
    return fd;
}

static void test_probe_ipc(void **state)
{
    (void)state;
    char dir[64], path[128], endpoint[160], why[128];
    s_tempdir(dir, sizeof(dir));
    snprintf(path, sizeof(path), "%s/admin.sock", dir);
    snprintf(endpoint, sizeof(endpoint), "ipc://%s", path);
    assert_int_equal(cli_probe(endpoint, 500, why, sizeof(why)),
                     CLI_PROBE_REFUSED);
    assert_string_equal(why, "No such file or directory");
    /* A socket file left behind by a process that died. */
    int fd = s_unix_socket(path, false);
    assert_int_equal(cli_probe(endpoint, 500, why, sizeof(why)),
                     CLI_PROBE_REFUSED);
    assert_string_equal(why, "Connection refused");
    close(fd);
    unlink(path);
    fd = s_unix_socket(path, true);
    assert_int_equal(cli_probe(endpoint, 500, why, sizeof(why)),
                     CLI_PROBE_LISTENING);
    close(fd);
    unlink(path);
    rmdir(dir);
}

/* A loopback TCP port: listening, or closed again (so refused). */
static int s_tcp_port(bool listening, int *fd_p)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = {.sin_family = AF_INET,
                               .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(addr);
    assert_int_equal(bind(fd, (struct sockaddr *)&addr, len), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&addr, &len), 0);
    if (listening) {
        assert_int_equal(listen(fd, 1), 0);
        *fd_p = fd;
    } else {
        close(fd);
    }
    return ntohs(addr.sin_port);
}

static void test_probe_tcp(void **state)
{
    (void)state;
    char endpoint[64], why[128];
    int fd = -1;
    snprintf(endpoint, sizeof(endpoint), "tcp://127.0.0.1:%d",
             s_tcp_port(false, NULL));
    assert_int_equal(cli_probe(endpoint, 500, why, sizeof(why)),
                     CLI_PROBE_REFUSED);
    assert_string_equal(why, "Connection refused");
    snprintf(endpoint, sizeof(endpoint), "tcp://localhost:%d",
             s_tcp_port(true, &fd));
    assert_int_equal(cli_probe(endpoint, 500, why, sizeof(why)),
                     CLI_PROBE_LISTENING);
    close(fd);
}

static void test_probe_other_endpoints(void **state)
{
    (void)state;
    char why[128];
    assert_int_equal(cli_probe("inproc://admin", 100, why, sizeof(why)),
                     CLI_PROBE_UNKNOWN);
    assert_int_equal(cli_probe("tcp://*:7451", 100, why, sizeof(why)),
                     CLI_PROBE_UNKNOWN);
    assert_int_equal(cli_probe("tcp://noport", 100, why, sizeof(why)),
                     CLI_PROBE_UNKNOWN);
}

/* A verb table like a listing verb's: globals plus --limit and --free. */
enum { T_LIMIT = CLI_OPT_VERB, T_FREE };
static const struct option s_options[] = {
    CLI_GLOBAL_OPTIONS,
    {"limit", required_argument, NULL, T_LIMIT},
    {"free", no_argument, NULL, T_FREE},
    {NULL, 0, NULL, 0},
};

static void test_global_options_after_the_verb(void **state)
{
    (void)state;
    char *argv[] = {"host", "-o",         "json",           "hv-01",  "--limit",
                    "3",    "-cipc:///x", "--timeout=1.5s", "--free", NULL};
    int argc = 9;
    cli_t cli;
    cli_init(&cli);
    optind = 0;
    assert_int_equal(cli_next_option(&cli, argc, argv, s_options, ""), T_LIMIT);
    assert_string_equal(optarg, "3");
    assert_int_equal(cli_next_option(&cli, argc, argv, s_options, ""), T_FREE);
    assert_int_equal(cli_next_option(&cli, argc, argv, s_options, ""),
                     CLI_NEXT_END);
    assert_int_equal(cli.output, CLI_OUTPUT_JSON);
    assert_string_equal(cli.controller, "ipc:///x");
    assert_int_equal(cli.timeout_ms, 1500);
    assert_int_equal(argc - optind, 1);
    assert_string_equal(argv[optind], "hv-01");
}

static void test_option_errors(void **state)
{
    (void)state;
    cli_t cli;
    cli_init(&cli);
    char *unknown[] = {"hosts", "--host", "x", NULL};
    optind = 0;
    assert_int_equal(cli_next_option(&cli, 3, unknown, s_options, ""),
                     CLI_NEXT_USAGE);
    char *no_value[] = {"hosts", "--limit", NULL};
    optind = 0;
    assert_int_equal(cli_next_option(&cli, 2, no_value, s_options, ""),
                     CLI_NEXT_USAGE);
    char *bad_timeout[] = {"hosts", "--timeout", "2h", NULL};
    optind = 0;
    assert_int_equal(cli_next_option(&cli, 3, bad_timeout, s_options, ""),
                     CLI_NEXT_USAGE);
    char *help[] = {"hosts", "-h", NULL};
    optind = 0;
    assert_int_equal(cli_next_option(&cli, 2, help, s_options, ""),
                     CLI_NEXT_HELP);
}

static void test_request_params_replace(void **state)
{
    (void)state;
    cli_request_t req;
    cli_request_init(&req, "hosts");
    assert_int_equal(cli_request_set(&req, "limit", "5"), 0);
    assert_int_equal(cli_request_set(&req, "after", "a"), 0);
    assert_int_equal(cli_request_set(&req, "after", "b"), 0);
    assert_int_equal(req.param_count, 2);
    assert_string_equal(cli_request_get(&req, "after"), "b");
    assert_null(cli_request_get(&req, "host"));
    char long_value[VFP_TEXT_MAX + 2];
    memset(long_value, 'x', sizeof(long_value) - 1);
    long_value[sizeof(long_value) - 1] = '\0';
    assert_int_equal(cli_request_set(&req, "after", long_value), -1);
    assert_string_equal(cli_request_get(&req, "after"), "b");
}

/* What fn printed on stdout, read back from a file (caller frees). */
static char *s_stdout_of(void (*fn)(void *), void *arg)
{
    char path[] = "/tmp/vfleet-test-cli.XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    fflush(stdout);
    int saved = dup(STDOUT_FILENO);
    assert_int_equal(dup2(fd, STDOUT_FILENO), STDOUT_FILENO);
    fn(arg);
    fflush(stdout);
    assert_int_equal(dup2(saved, STDOUT_FILENO), STDOUT_FILENO);
    close(saved);
    off_t size = lseek(fd, 0, SEEK_END);
    char *text = calloc(1, (size_t)size + 1);
    assert_non_null(text);
    assert_int_equal(pread(fd, text, (size_t)size, 0), size);
    close(fd);
    unlink(path);
    return text;
}

static const cli_column_t s_cols[] = {
    {"NAME", "name", CLI_CELL_TEXT, NULL},
    {"UP", "up", CLI_CELL_BOOL, NULL},
    {"NESTED", "n.deep", CLI_CELL_DASH, NULL},
};

typedef struct {
    cli_t cli;
    json_t *pages[3];
    json_t *next; /* NULL, or a single page's cursor */
} s_listing_t;

/* The reference: jansson's own dump of the whole document, as
 * cli_print_json writes it, or the table of every row at once. */
static void s_print_reference(void *arg)
{
    s_listing_t *l = arg;
    json_t *rows = json_array();
    for (int i = 0; i < 3; i++)
        json_array_extend(rows, l->pages[i]);
    if (l->cli.output == CLI_OUTPUT_TABLE) {
        cli_print_table(rows, s_cols, CLI_NCOLS(s_cols));
    } else {
        json_t *doc = json_pack("{s:O}", "things", rows);
        if (l->next)
            json_object_set(doc, "next", l->next);
        assert_int_equal(cli_print_json(doc), CLI_EXIT_OK);
        json_decref(doc);
    }
    json_decref(rows);
}

static void s_print_paged(void *arg)
{
    s_listing_t *l = arg;
    cli_listing_out_t *out =
        cli_listing_out_new(&l->cli, "things", s_cols, CLI_NCOLS(s_cols));
    for (int i = 0; i < 3; i++)
        assert_int_equal(cli_listing_out_add(out, l->pages[i]), 0);
    assert_int_equal(cli_listing_out_end(out, l->next), CLI_EXIT_OK);
    cli_listing_out_destroy(&out);
}

/* A listing printed page by page (cli_listing_out_t, which
 * cli_print_listing uses too) is byte for byte jansson's dump of the
 * whole document, or the table of every row at once: with rows, with an
 * empty page among them, with none at all, with and without "next". */
static void test_listing_out_same_as_whole(void **state)
{
    (void)state;
    const char *pages[][3] = {
        {"[{\"name\": \"a\", \"up\": true, \"n\": {\"deep\": [1, {\"x\": 2}]}},"
         " {\"name\": \"b\\u001b[31m\", \"up\": false, \"n\": null}]",
         "[]", "[{\"name\": \"longer name\", \"extra\": 1.5}]"},
        {"[]", "[]", "[]"},
    };
    json_t *nexts[] = {NULL, json_string("pos 3/+= \"q\""), json_null()};
    for (size_t p = 0; p < 2; p++) {
        for (size_t n = 0; n < 3; n++) {
            for (int json = 0; json < 2; json++) {
                s_listing_t l = {.cli = {.output = json ? CLI_OUTPUT_JSON
                                                        : CLI_OUTPUT_TABLE},
                                 .next = nexts[n]};
                for (int i = 0; i < 3; i++)
                    l.pages[i] = json_loads(pages[p][i], 0, NULL);
                char *whole = s_stdout_of(s_print_reference, &l);
                char *paged = s_stdout_of(s_print_paged, &l);
                assert_true(strlen(whole) > 0);
                assert_string_equal(paged, whole);
                free(whole);
                free(paged);
                for (int i = 0; i < 3; i++)
                    json_decref(l.pages[i]);
            }
        }
    }
    for (size_t n = 0; n < 3; n++)
        json_decref(nexts[n]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_escape_controls),
        cmocka_unit_test(test_escape_keeps_utf8_but_not_c1),
        cmocka_unit_test(test_probe_ipc),
        cmocka_unit_test(test_probe_tcp),
        cmocka_unit_test(test_probe_other_endpoints),
        cmocka_unit_test(test_global_options_after_the_verb),
        cmocka_unit_test(test_option_errors),
        cmocka_unit_test(test_request_params_replace),
        cmocka_unit_test(test_listing_out_same_as_whole),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
