/* test_vfp_codec.c - round trips, the spec's worked examples, versioning and
 * the small helpers of the vfp codec. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "vfp.h"
#include "vfp_samples.h"

/* Encodes msg, decodes the bytes, and checks the decoded model equals the
 * original and encodes to the very same bytes. */
static void s_round_trip(const vfp_msg_t *msg)
{
    vfp_decode_error_t err;
    uint8_t *data = NULL;
    size_t size = 0;
    assert_int_equal(vfp_validate(msg, &err), 0);
    if (vfp_encode(msg, &data, &size, &err) != 0)
        fail_msg("encode %s: %s: %s", vfp_id_name(msg->id), err.field,
                 err.text);
    vfp_msg_t *back = vfp_decode(data, size, &err);
    if (!back)
        fail_msg("decode %s: %s: %s", vfp_id_name(msg->id), err.field,
                 err.text);
    assert_true(sample_equal(msg, back));
    uint8_t *again = NULL;
    size_t again_size = 0;
    assert_int_equal(vfp_encode(back, &again, &again_size, &err), 0);
    assert_int_equal(again_size, size);
    assert_memory_equal(again, data, size);
    free(again);
    free(data);
    vfp_msg_destroy(&back);
    assert_null(back);
}

static void test_round_trip_every_message(void **state)
{
    for (int id = VFP_HELLO; id <= VFP_REPLY; id++) {
        for (int kind = 0; kind < SAMPLE_KINDS; kind++) {
            vfp_msg_t *msg = sample_msg((vfp_id_t)id, (sample_kind_t)kind);
            s_round_trip(msg);
            vfp_msg_destroy(&msg);
        }
    }
}

/* The full samples really do set what the round trip claims to cover. */
static void test_samples_cover_limits(void **state)
{
    vfp_msg_t *msg = sample_msg(VFP_INVENTORY, SAMPLE_FULL);
    assert_int_equal(strlen(msg->u.inventory.host.hostname), VFP_HOSTNAME_MAX);
    assert_int_equal(strlen(msg->u.inventory.pfs[0].vfs[0].note),
                     VFP_VF_NOTE_MAX);
    assert_int_equal(msg->u.inventory.pfs[1].vf_count, 0);
    vfp_msg_destroy(&msg);
    msg = sample_msg(VFP_INVENTORY, SAMPLE_MAX);
    assert_int_equal(msg->u.inventory.pf_count, VFP_PFS_MAX);
    assert_int_equal(msg->u.inventory.pfs[0].vf_count, VFP_VFS_MAX);
    vfp_msg_destroy(&msg);
    msg = sample_msg(VFP_APPLY, SAMPLE_MAX);
    assert_int_equal(msg->u.apply.vf_count, VFP_APPLY_VFS_MAX);
    vfp_msg_destroy(&msg);
    msg = sample_msg(VFP_INVENTORY_DELTA, SAMPLE_MIN);
    assert_false(msg->u.delta.has_host);
    vfp_msg_destroy(&msg);
}

static void s_expect_bytes(const vfp_msg_t *msg, const uint8_t *expect,
                           size_t expect_size)
{
    vfp_decode_error_t err;
    uint8_t *data = NULL;
    size_t size = 0;
    assert_int_equal(vfp_encode(msg, &data, &size, &err), 0);
    assert_int_equal(size, expect_size);
    assert_memory_equal(data, expect, size);
    free(data);
    vfp_msg_t *back = vfp_decode(expect, expect_size, &err);
    assert_non_null(back);
    assert_true(sample_equal(msg, back));
    vfp_msg_destroy(&back);
}

/* PROTOCOL.md, "Worked examples": these bytes are quoted there. */
static void test_heartbeat_example_bytes(void **state)
{
    static const uint8_t expect[] = {
        0x56, 0x46, 0x01, 0x05, 0x00, 0x00, 0x00, 0x07, /* header */
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x2c, /* generation */
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, /* applied_rev */
    };
    vfp_msg_t *msg = vfp_msg_new(VFP_HEARTBEAT);
    msg->request_id = 7;
    msg->u.heartbeat.generation = 300;
    msg->u.heartbeat.applied_revision = 3;
    s_expect_bytes(msg, expect, sizeof expect);
    vfp_msg_destroy(&msg);
}

static void test_hello_example_bytes(void **state)
{
    static const uint8_t expect[] = {
        0x56, 0x46, 0x01, 0x01, 0x00, 0x00, 0x00, 0x01, /* header */
        0x00, 0x05, 'n',  'o',  'd',  'e',  '1',        /* hostname */
        0x00, 0x05, '0',  '.',  '1',  '.',  '0',        /* agent_version */
        0x00, 0x00,                                     /* boot_id */
        0x01,                                           /* proto_min */
        0x01,                                           /* proto_max */
    };
    vfp_msg_t *msg = vfp_msg_new(VFP_HELLO);
    msg->request_id = 1;
    strcpy(msg->u.hello.hostname, "node1");
    strcpy(msg->u.hello.agent_version, "0.1.0");
    msg->u.hello.proto_min = 1;
    msg->u.hello.proto_max = 1;
    s_expect_bytes(msg, expect, sizeof expect);
    vfp_msg_destroy(&msg);
}

/* A version this build does not speak fails with VERSION and reports the
 * peer's version, whatever follows the header. */
static void test_unsupported_version(void **state)
{
    static const uint8_t versions[] = {0, VFP_VERSION + 1, 255};
    for (size_t i = 0; i < sizeof versions; i++) {
        uint8_t data[] = {0x56, 0x46, versions[i], 0x05, 0, 0, 0, 9, 0xff};
        vfp_decode_error_t err;
        assert_null(vfp_decode(data, sizeof data, &err));
        assert_int_equal(err.code, VFP_ERR_VERSION);
        assert_int_equal(err.peer_version, versions[i]);
        assert_int_equal(err.peer_msg_id, VFP_HEARTBEAT);
        assert_int_equal(err.peer_request_id, 9);
        assert_string_equal(err.field, "header.version");
        uint8_t version = 0, id = 0;
        uint32_t request_id = 0;
        assert_int_equal(
            vfp_peek_header(data, sizeof data, &version, &id, &request_id), 0);
        assert_int_equal(version, versions[i]);
        assert_int_equal(id, VFP_HEARTBEAT);
        assert_int_equal(request_id, 9);
    }
}

/* The encoder never produces a version it could not decode itself. */
static void test_encode_refuses_unsupported_version(void **state)
{
    vfp_msg_t *msg = vfp_msg_new(VFP_HEARTBEAT);
    msg->version = VFP_VERSION + 1;
    vfp_decode_error_t err;
    uint8_t *data = NULL;
    size_t size = 0;
    assert_int_equal(vfp_encode(msg, &data, &size, &err), -1);
    assert_null(data);
    assert_string_equal(err.field, "header.version");
    vfp_msg_destroy(&msg);
}

static void test_version_choose(void **state)
{
    assert_int_equal(vfp_version_choose(1, 1), 1);
    assert_int_equal(vfp_version_choose(1, 9), VFP_VERSION);
    assert_int_equal(vfp_version_choose(VFP_VERSION, 255), VFP_VERSION);
    assert_int_equal(vfp_version_choose(VFP_VERSION + 1, 255), -1);
    assert_int_equal(vfp_version_choose(0, 0), -1);
    assert_int_equal(vfp_version_choose(0, 1), -1);
    assert_int_equal(vfp_version_choose(3, 2), -1);
}

static void test_peek_header_rejects(void **state)
{
    static const uint8_t good[] = {0x56, 0x46, 1, 2, 0, 0, 1, 0};
    static const uint8_t bad[] = {0x46, 0x56, 1, 2, 0, 0, 1, 0};
    uint32_t request_id = 0;
    assert_int_equal(vfp_peek_header(good, sizeof good - 1, NULL, NULL, NULL),
                     -1);
    assert_int_equal(vfp_peek_header(bad, sizeof bad, NULL, NULL, NULL), -1);
    assert_int_equal(
        vfp_peek_header(good, sizeof good, NULL, NULL, &request_id), 0);
    assert_int_equal(request_id, 256);
}

static void test_names(void **state)
{
    assert_string_equal(vfp_id_name(VFP_HELLO), "HELLO");
    assert_string_equal(vfp_id_name(VFP_INVENTORY_DELTA), "INVENTORY_DELTA");
    assert_string_equal(vfp_id_name(VFP_REPLY), "REPLY");
    assert_string_equal(vfp_id_name(0), "UNKNOWN");
    assert_string_equal(vfp_id_name(11), "UNKNOWN");
    assert_string_equal(vfp_errcode_name(VFP_OK), "OK");
    assert_string_equal(vfp_errcode_name(VFP_ERR_RESYNC), "RESYNC");
    assert_string_equal(vfp_errcode_name(VFP_ERR_UNKNOWN_VERB), "UNKNOWN_VERB");
    assert_string_equal(vfp_errcode_name(-1), "UNKNOWN");
    assert_string_equal(vfp_errcode_name(VFP_ERR_MAX + 1), "UNKNOWN");
    assert_string_equal(vfp_link_state_name(VFP_LINK_AUTO), "auto");
    assert_string_equal(vfp_link_state_name(VFP_LINK_DISABLE), "disable");
    assert_string_equal(vfp_link_state_name(VFP_LINK_ENABLE), "enable");
    assert_string_equal(vfp_link_state_name((vfp_link_state_t)3), "invalid");
    assert_string_equal(vfp_flag_name(VFP_OFF), "off");
    assert_string_equal(vfp_flag_name(VFP_ON), "on");
    assert_string_equal(vfp_flag_name(VFP_UNKNOWN), "unknown");
    assert_string_equal(vfp_flag_name((vfp_flag_t)3), "invalid");
    assert_string_equal(vfp_cpu_virt_name(VFP_VIRT_VMX), "vmx");
    assert_string_equal(vfp_cpu_virt_name(VFP_VIRT_SVM), "svm");
    assert_string_equal(vfp_cpu_virt_name(VFP_VIRT_NONE), "none");
}

/* PROTOCOL.md 7.4: R is newer than S when (R - S) mod 2^64 is 1 to
 * 2^63 - 1. */
static void test_revision_newer(void **state)
{
    (void)state;
    const uint64_t half = UINT64_C(1) << 63;
    assert_true(vfp_revision_newer(6, 5));
    assert_false(vfp_revision_newer(5, 5));
    assert_false(vfp_revision_newer(4, 5));
    assert_true(vfp_revision_newer(5 + half - 1, 5));
    assert_false(vfp_revision_newer(5 + half, 5));
    assert_false(vfp_revision_newer(5 + half + 1, 5));
    /* Past the top it goes on from 0. */
    assert_true(vfp_revision_newer(0, UINT64_MAX));
    assert_true(vfp_revision_newer(3, UINT64_MAX - 3));
    assert_false(vfp_revision_newer(UINT64_MAX, 0));
}

static void test_mac_format_and_parse(void **state)
{
    uint8_t mac[6] = {0};
    char buf[18];
    assert_int_equal(vfp_mac_parse("02:AB:cd:00:ff:10", mac), 0);
    assert_string_equal(vfp_mac_format(mac, buf), "02:ab:cd:00:ff:10");
    static const char *bad[] = {"",
                                "02:ab:cd:00:ff",
                                "02:ab:cd:00:ff:100",
                                "02-ab-cd-00-ff-10",
                                "02:ab:cd:00:ff:1g",
                                " 2:ab:cd:00:ff:10",
                                "02:ab:cd:00:ff:10:"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        uint8_t out[6] = {1, 2, 3, 4, 5, 6};
        assert_int_equal(vfp_mac_parse(bad[i], out), -1);
        /* A failed parse leaves the caller's MAC alone. */
        assert_int_equal(out[0], 1);
    }
    /* A NIC's MAC: unicast and not all zero as well. */
    assert_null(vfp_mac_parse_nic("02:AB:cd:00:ff:11", mac));
    assert_string_equal(vfp_mac_format(mac, buf), "02:ab:cd:00:ff:11");
    assert_string_equal(vfp_mac_parse_nic("zz", mac),
                        "is not a MAC address (aa:bb:cc:dd:ee:ff)");
    assert_string_equal(vfp_mac_parse_nic("03:00:00:00:00:01", mac),
                        "is multicast");
    assert_string_equal(vfp_mac_parse_nic("00:00:00:00:00:00", mac),
                        "means no MAC");
    assert_string_equal(vfp_mac_format(mac, buf), "02:ab:cd:00:ff:11");
}

/* The encoder applies the decoder's rules to the model before writing. */
static void test_encode_refuses_invalid_model(void **state)
{
    vfp_decode_error_t err;
    uint8_t *data = NULL;
    size_t size = 0;

    vfp_msg_t *msg = sample_msg(VFP_INVENTORY, SAMPLE_FULL);
    msg->u.inventory.pfs[0].vfs[2].vlan = 4096;
    assert_int_equal(vfp_validate(msg, &err), -1);
    assert_string_equal(err.field, "inventory.pfs[0].vfs[2].vlan");
    assert_string_equal(err.text, "4096 exceeds 4095");
    assert_int_equal(vfp_encode(msg, &data, &size, &err), -1);
    assert_null(data);
    vfp_msg_destroy(&msg);

    msg = sample_msg(VFP_APPLY, SAMPLE_FULL);
    msg->u.apply.vfs[2] = msg->u.apply.vfs[0];
    assert_int_equal(vfp_validate(msg, &err), -1);
    assert_string_equal(err.field, "apply.vfs[2]");
    assert_non_null(strstr(err.text, "already set by vfs[0]"));
    vfp_msg_destroy(&msg);

    msg = vfp_msg_new(VFP_APPLY);
    msg->u.apply.vf_count = 1;
    assert_int_equal(vfp_validate(msg, &err), -1);
    assert_string_equal(err.field, "apply.vfs");
    vfp_msg_destroy(&msg);

    msg = vfp_msg_new(VFP_REPLY);
    msg->u.reply.body_len = 3;
    assert_int_equal(vfp_validate(msg, &err), -1);
    assert_string_equal(err.field, "reply.body");
    vfp_msg_destroy(&msg);

    msg = vfp_msg_new(VFP_HELLO);
    memset(msg->u.hello.hostname, 'x', sizeof msg->u.hello.hostname);
    msg->u.hello.proto_min = msg->u.hello.proto_max = 1;
    assert_int_equal(vfp_validate(msg, &err), -1);
    assert_string_equal(err.field, "hello.hostname");
    vfp_msg_destroy(&msg);

    msg = vfp_msg_new((vfp_id_t)42);
    assert_int_equal(vfp_validate(msg, &err), -1);
    assert_string_equal(err.field, "header.msg_id");
    vfp_msg_destroy(&msg);

    msg = sample_msg(VFP_INVENTORY, SAMPLE_FULL);
    msg->u.inventory.pfs[1].vf_count = 0;
    msg->u.inventory.pfs[0].vfs[1].spoofchk = (vfp_flag_t)7;
    assert_int_equal(vfp_validate(msg, &err), -1);
    assert_string_equal(err.field, "inventory.pfs[0].vfs[1].spoofchk");
    assert_string_equal(err.text, "7 is out of range 0..2");
    msg->u.inventory.host.reason_count = VFP_REASONS_MAX + 1;
    assert_int_equal(vfp_validate(msg, &err), -1);
    assert_string_equal(err.field, "inventory.host.reasons");
    assert_string_equal(err.text, "17 items exceed the limit of 16");
    vfp_msg_destroy(&msg);

    /* The length is refused before the body is looked at. */
    msg = vfp_msg_new(VFP_REQUEST);
    strcpy(msg->u.request.verb, "hosts");
    msg->u.request.body = strdup("{}");
    msg->u.request.body_len = VFP_BODY_MAX + 1;
    assert_int_equal(vfp_validate(msg, &err), -1);
    assert_string_equal(err.field, "request.body");
    assert_string_equal(err.text,
                        "length 4194305 exceeds the limit of 4194304 bytes");
    vfp_msg_destroy(&msg);
}

/* A text cut short by snprintf in the middle of a character is trimmed to
 * the last whole one, and then encodes. */
static void test_utf8_trim(void **state)
{
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"", ""},
        {"abc", "abc"},
        {"r\xc3\xa9", "r\xc3\xa9"},
        {"r\xc3", "r"},
        {"\xe2\x9c\x93", "\xe2\x9c\x93"},
        {"a\xe2\x9c", "a"},
        {"a\xe2", "a"},
        {"\xf0\x9f\x98\x80", "\xf0\x9f\x98\x80"},
        {"\xf0\x9f\x98", ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char buf[16];
        snprintf(buf, sizeof buf, "%s", cases[i].in);
        assert_int_equal(vfp_utf8_trim(buf), strlen(cases[i].out));
        assert_string_equal(buf, cases[i].out);
    }
    vfp_msg_t *msg = vfp_msg_new(VFP_APPLY_RESULT);
    msg->u.apply_result.result_count = 1;
    msg->u.apply_result.results = calloc(1, sizeof(vfp_result_t));
    vfp_result_t *r = &msg->u.apply_result.results[0];
    r->kind = VFP_ITEM_HUGEPAGES;
    char text[2 * VFP_RESULT_MESSAGE_MAX] = "x";
    for (size_t n = 1; n + 2 < sizeof text; n += 2)
        memcpy(text + n, "\xc3\xa9", 3);
    memcpy(r->message, text, VFP_RESULT_MESSAGE_MAX);
    assert_int_equal(vfp_validate(msg, NULL), -1);
    vfp_utf8_trim(r->message);
    assert_int_equal(vfp_validate(msg, NULL), 0);
    vfp_msg_destroy(&msg);
}

/* Host names are RFC 1123 names: what a HELLO may carry, decoded and
 * refused through the codec itself (PROTOCOL.md 4.1). */
static void s_hello_with(const char *hostname, bool accepted)
{
    uint8_t bytes[512] = {0x56, 0x46, 1, VFP_HELLO, 0, 0, 0, 1};
    size_t len = strlen(hostname), pos = 8;
    bytes[pos++] = (uint8_t)(len >> 8);
    bytes[pos++] = (uint8_t)len;
    memcpy(bytes + pos, hostname, len);
    pos += len;
    const uint8_t tail[] = {0, 0, 0, 0, 1, 1};
    memcpy(bytes + pos, tail, sizeof tail);
    pos += sizeof tail;
    vfp_decode_error_t err;
    vfp_msg_t *msg = vfp_decode(bytes, pos, &err);
    char why[96] = "";
    int rc = vfp_hostname_check(hostname, why, sizeof why);
    if (accepted) {
        assert_non_null(msg);
        assert_string_equal(msg->u.hello.hostname, hostname);
        assert_int_equal(rc, 0);
    } else {
        assert_null(msg);
        assert_string_equal(err.field, "hello.hostname");
        assert_string_equal(err.text, why);
        assert_int_equal(rc, -1);
    }
    vfp_msg_destroy(&msg);
}

static void test_hostname_rule(void **state)
{
    (void)state;
    char label63[64], longest[VFP_HOSTNAME_MAX + 1], over[VFP_HOSTNAME_MAX + 2];
    memset(label63, 'a', 63);
    label63[63] = '\0';
    snprintf(longest, sizeof longest, "%s.%s.%s.%.61s", label63, label63,
             label63, label63);
    assert_int_equal(strlen(longest), VFP_HOSTNAME_MAX);
    snprintf(over, sizeof over, "%s.%s.%s.%.62s", label63, label63, label63,
             label63);
    const char *good[] = {"h",    "node1", "Node-1.Lab.example",    "1node",
                          "123",  "a--b",  "xn--bcher-kva.example", label63,
                          longest};
    for (size_t i = 0; i < sizeof good / sizeof *good; i++)
        s_hello_with(good[i], true);
    const char *bad[] = {"node_1", "a b",  "a\nb", "a\x1b[31mb", "-a",
                         "a-",     "a..b", ".a",   "a.",         "a/b",
                         "a:b",    "*",    "a\tb", "\xc3\xa9"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        s_hello_with(bad[i], false);
    char why[96];
    assert_int_equal(vfp_hostname_check(over, why, sizeof why), -1);
    assert_string_equal(why, "longer than 253 bytes");
    assert_int_equal(vfp_hostname_check("", why, sizeof why), -1);
}

static void test_destroy_accepts_null(void **state)
{
    vfp_msg_t *msg = NULL;
    vfp_msg_destroy(&msg);
    assert_null(msg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_every_message),
        cmocka_unit_test(test_samples_cover_limits),
        cmocka_unit_test(test_heartbeat_example_bytes),
        cmocka_unit_test(test_hello_example_bytes),
        cmocka_unit_test(test_unsupported_version),
        cmocka_unit_test(test_encode_refuses_unsupported_version),
        cmocka_unit_test(test_version_choose),
        cmocka_unit_test(test_peek_header_rejects),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_revision_newer),
        cmocka_unit_test(test_mac_format_and_parse),
        cmocka_unit_test(test_encode_refuses_invalid_model),
        cmocka_unit_test(test_utf8_trim),
        cmocka_unit_test(test_hostname_rule),
        cmocka_unit_test(test_destroy_accepts_null),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
