/* fuzz_vfp_decode.c - libFuzzer target: vfp_decode on any bytes, and the
 * canonical-encoding round trip of whatever decodes. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vfp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Not assert(): the check must hold in every build type. */
#define CHECK(cond)                                                            \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__,   \
                    #cond);                                                    \
            abort();                                                           \
        }                                                                      \
    } while (0)

static void s_check_error(const vfp_decode_error_t *err)
{
    CHECK(err->code == VFP_ERR_MALFORMED || err->code == VFP_ERR_VERSION);
    CHECK(memchr(err->field, '\0', sizeof err->field) != NULL);
    CHECK(memchr(err->text, '\0', sizeof err->text) != NULL);
    CHECK(err->field[0] != '\0');
    CHECK(err->text[0] != '\0');
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    vfp_decode_error_t err;
    vfp_msg_t *msg = vfp_decode(data, size, &err);
    if (!msg) {
        s_check_error(&err);
        return 0;
    }
    /* Whatever decodes is valid, and the encoding is canonical: every
     * message has exactly one byte form, so re-encoding gives the input
     * back, and that decodes to a message that encodes the same again. */
    CHECK(vfp_validate(msg, &err) == 0);
    uint8_t *again = NULL;
    size_t again_size = 0;
    CHECK(vfp_encode(msg, &again, &again_size, &err) == 0);
    CHECK(again_size == size);
    CHECK(memcmp(again, data, size) == 0);
    vfp_msg_t *second = vfp_decode(again, again_size, &err);
    CHECK(second != NULL);
    uint8_t *third = NULL;
    size_t third_size = 0;
    CHECK(vfp_encode(second, &third, &third_size, &err) == 0);
    CHECK(third_size == again_size);
    CHECK(memcmp(third, again, again_size) == 0);
    free(third);
    free(again);
    vfp_msg_destroy(&second);
    vfp_msg_destroy(&msg);
    return 0;
}
