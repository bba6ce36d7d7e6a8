/* gen_vfp_corpus.c - writes the vfp fuzzer's seed corpus: one valid
 * encoding per message type and sample kind, or checks an existing one. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vfp.h"
#include "vfp_samples.h"

static void s_usage(void)
{
    fprintf(stderr, "usage: gen_vfp_corpus [-c] DIR\n"
                    "  writes DIR/<message>-<kind>.bin for every message\n"
                    "  -c  compare with the files in DIR instead\n");
    exit(2);
}

/* 0 when the file holds exactly data[size]. */
static int s_compare(const char *path, const uint8_t *data, size_t size)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "gen_vfp_corpus: %s: %s\n", path, strerror(errno));
        return -1;
    }
    int rc = 0;
    for (size_t i = 0; i < size && rc == 0; i++)
        if (fgetc(f) != data[i])
            rc = -1;
    if (rc == 0 && fgetc(f) != EOF)
        rc = -1;
    fclose(f);
    if (rc)
        fprintf(stderr, "gen_vfp_corpus: %s is stale: regenerate it\n", path);
    return rc;
}

static int s_write(const char *path, const uint8_t *data, size_t size)
{
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, size, f) != size || fclose(f) != 0) {
        fprintf(stderr, "gen_vfp_corpus: %s: %s\n", path, strerror(errno));
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    static const char *kinds[] = {"min", "full"};
    bool compare = argc == 3 && strcmp(argv[1], "-c") == 0;
    if (argc != 2 && !compare)
        s_usage();
    const char *dir = argv[argc - 1];
    int failed = 0;
    /* The MAX samples are megabytes long; libFuzzer does better with small
     * seeds, and the unit tests cover the limits. */
    for (int id = VFP_HELLO; id <= VFP_REPLY; id++) {
        for (int kind = SAMPLE_MIN; kind <= SAMPLE_FULL; kind++) {
            vfp_msg_t *msg = sample_msg((vfp_id_t)id, (sample_kind_t)kind);
            vfp_decode_error_t err;
            uint8_t *data = NULL;
            size_t size = 0;
            if (vfp_encode(msg, &data, &size, &err)) {
                fprintf(stderr, "gen_vfp_corpus: %s: %s\n", err.field,
                        err.text);
                return 1;
            }
            char name[64], path[4096];
            snprintf(name, sizeof name, "%s", vfp_id_name(id));
            for (char *p = name; *p; p++)
                *p = (char)tolower((unsigned char)*p);
            snprintf(path, sizeof path, "%s/%s-%s.bin", dir, name, kinds[kind]);
            if ((compare ? s_compare : s_write)(path, data, size))
                failed = 1;
            free(data);
            vfp_msg_destroy(&msg);
        }
    }
    return failed;
}
