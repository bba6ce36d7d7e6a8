/* fuzz_policy_parse.c - libFuzzer target for the policy parser. Any input
 * must be accepted or rejected without a crash, a leak or undefined
 * behaviour; an accepted one must also survive the round trip (its emitted
 * form parses to the same text and hash) and diff as unchanged against
 * itself. */
#include "policy.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    policy_errors_t *errs = policy_errors_new();
    if (!errs)
        abort();
    policy_t *policy =
        policy_parse_buffer("fuzz", (const char *)data, size, errs);
    if (!policy) {
        /* A rejected input always says why. */
        if (policy_errors_count(errs) == 0 &&
            !policy_errors_out_of_memory(errs))
            abort();
        policy_errors_destroy(&errs);
        return 0;
    }
    size_t len, len2;
    char *text = policy_emit_string(policy, &len);
    if (!text)
        abort();
    policy_t *again = policy_parse_buffer("emitted", text, len, errs);
    if (!again)
        abort();
    char *text2 = policy_emit_string(again, &len2);
    if (!text2 || len != len2 || memcmp(text, text2, len) != 0)
        abort();
    char hash[65], hash2[65];
    if (policy_sha256_hex(policy, hash) != 0 ||
        policy_sha256_hex(again, hash2) != 0 || strcmp(hash, hash2) != 0)
        abort();
    policy_diff_t *diff = policy_diff_new(policy, again);
    if (!diff || policy_diff_count(diff) != 0)
        abort();
    policy_diff_destroy(&diff);
    free(text);
    free(text2);
    policy_destroy(&again);
    policy_destroy(&policy);
    policy_errors_destroy(&errs);
    return 0;
}
