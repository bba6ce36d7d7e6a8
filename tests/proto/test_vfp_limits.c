/* test_vfp_limits.c - the field limits cannot build a message larger than
 * VFP_MSG_MAX, and any valid APPLY's results fit one APPLY_RESULT. */
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

/* Builds the largest message of every id, encodes it, prints its size (the
 * figures PROTOCOL.md's "Limits" quotes) and checks it fits and decodes. */
static void test_largest_message_fits(void **state)
{
    (void)state;
    for (int id = VFP_HELLO; id <= VFP_REPLY; id++) {
        vfp_msg_t *msg = sample_largest((vfp_id_t)id);
        vfp_decode_error_t err;
        uint8_t *data = NULL;
        size_t size = 0;
        if (vfp_encode(msg, &data, &size, &err) != 0)
            fail_msg("largest %s does not encode: %s: %s", vfp_id_name(id),
                     err.field, err.text);
        printf("largest %-15s %9zu bytes (%5.1f%% of VFP_MSG_MAX)\n",
               vfp_id_name(id), size, 100.0 * (double)size / VFP_MSG_MAX);
        assert_true(size <= VFP_MSG_MAX);
        if (id == VFP_REQUEST)
            assert_int_equal(size, VFP_REQUEST_MSG_MAX);
        vfp_msg_t *back = vfp_decode(data, size, &err);
        if (!back)
            fail_msg("largest %s does not decode: %s: %s", vfp_id_name(id),
                     err.field, err.text);
        assert_true(sample_equal(msg, back));
        vfp_msg_destroy(&back);
        vfp_msg_destroy(&msg);
        free(data);
    }
}

static uint32_t s_bits(uint32_t v)
{
    uint32_t n = 0;
    for (; v; v &= v - 1)
        n++;
    return n;
}

/* The agent answers an APPLY with one result per PF, per set attribute of
 * each VF and per hugepage pool (PROTOCOL.md 7.4), in one APPLY_RESULT. */
static void test_largest_apply_results_fit(void **state)
{
    (void)state;
    assert_int_equal(s_bits(VFP_SET_ALL), VFP_APPLY_VF_ATTRS);
    vfp_msg_t *msg = sample_largest(VFP_APPLY);
    const vfp_apply_t *apply = &msg->u.apply;
    assert_int_equal(apply->pf_count, VFP_PFS_MAX);
    assert_int_equal(apply->vf_count, VFP_APPLY_VFS_MAX);
    assert_int_equal(apply->hugepage_count, VFP_HUGEPAGES_MAX);
    uint32_t results = apply->pf_count + apply->hugepage_count;
    for (uint32_t i = 0; i < apply->vf_count; i++)
        results += s_bits(apply->vfs[i].set);
    assert_true(results <= VFP_RESULTS_MAX);
    assert_int_equal(results, VFP_RESULTS_MAX);
    vfp_msg_destroy(&msg);
}

/* The largest APPLY_RESULT really is at the limit: one item more does not
 * validate, so the size measured above is the worst case. */
static void test_results_limit_is_enforced(void **state)
{
    (void)state;
    vfp_msg_t *msg = sample_largest(VFP_APPLY_RESULT);
    vfp_apply_result_t *m = &msg->u.apply_result;
    m->results =
        realloc(m->results, (m->result_count + 1) * sizeof *m->results);
    m->results[m->result_count] = m->results[0];
    m->result_count++;
    vfp_decode_error_t err;
    assert_int_equal(vfp_validate(msg, &err), -1);
    assert_string_equal(err.field, "apply_result.results");
    vfp_msg_destroy(&msg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_largest_message_fits),
        cmocka_unit_test(test_largest_apply_results_fit),
        cmocka_unit_test(test_results_limit_is_enforced),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
