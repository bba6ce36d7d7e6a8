/* fuzz_vfp_decode.c - libFuzzer target: vfp_decode on any bytes, and the
 * canonical-encoding round trip of whatever decodes. */
#include <stdbool.h>
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

/* A decode error carries the header exactly when 8 bytes with the right
 * signature came in (PROTOCOL.md 6), and then carries it as received. */
static void s_check_error(const vfp_decode_error_t *err, const uint8_t *data,
                          size_t size)
{
    CHECK(err->code == VFP_ERR_MALFORMED || err->code == VFP_ERR_VERSION);
    bool header = size >= VFP_HEADER_SIZE && data[0] == 0x56 && data[1] == 0x46;
    CHECK(err->peer_header == header);
    if (header) {
        CHECK(err->peer_version == data[2]);
        CHECK(err->peer_msg_id == data[3]);
        CHECK(err->peer_request_id ==
              ((uint32_t)data[4] << 24 | (uint32_t)data[5] << 16 |
               (uint32_t)data[6] << 8 | data[7]));
    }
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
        s_check_error(&err, data, size);
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
