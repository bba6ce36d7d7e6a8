/* fuzz_writer_msg.c - libFuzzer target for the agent's privileged writer:
 * any bytes the network process could send over the writer channel are
 * served (writer_serve_handle) against the simulated kernel of a recorded
 * tree. Nothing may crash, leak or hit undefined behaviour; every answer
 * must pass the network process's own check of it; a refusal says why;
 * and only a request that passes the writer's check may reach the
 * kernel. */
#include "vf_kernel.h"
#include "vf_writer.h"
#include "vfp_log.h"
#include "writer_msg.h"
#include "writer_serve.h"

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char s_top[64];
static vf_writer_t *s_writer;

static void s_remove_tree(void)
{
    char cmd[128];
    vf_writer_destroy(&s_writer);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", s_top);
    if (system(cmd) != 0)
        fprintf(stderr, "fuzz_writer_msg: could not remove %s\n", s_top);
}

/* A recorded tree (i40e, 16 VFs on ens2f0, hugepage pools) in a fresh
 * directory, written by the tests' own tree maker; the writer works on its
 * simulated kernel, never on the live one. */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    char cmd[PATH_MAX + 128], sysfs[128], err[256];
    /* TMPDIR=/dev/shm keeps a long run off a busy disk: every VF count
     * change makes and removes the VFs' files. */
    const char *tmp = getenv("TMPDIR");
    snprintf(s_top, sizeof(s_top), "%s/vfleet-fuzz-writer-XXXXXX",
             tmp && tmp[0] && strlen(tmp) < 32 ? tmp : "/tmp");
    if (!mkdtemp(s_top))
        abort();
    snprintf(cmd, sizeof(cmd),
             "python3 %s/tests/fixtures/mktree.py i40e-xxv710 %s/t "
             ">/dev/null",
             VFLEET_SOURCE_DIR, s_top);
    if (system(cmd) != 0)
        abort();
    snprintf(sysfs, sizeof(sysfs), "%s/t/sys", s_top);
    s_writer = vf_writer_new_kernel(sysfs, VF_KERNEL_SIM, err, sizeof(err));
    if (!s_writer) {
        fprintf(stderr, "fuzz_writer_msg: %s\n", err);
        abort();
    }
    atexit(s_remove_tree);
    /* Refusals are logged as warnings; a fuzzer makes millions. */
    vfp_log_init("fuzz_writer_msg", VFP_LOG_ERROR, false);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char why[256];
    writer_msg_rep_t rep;
    uint64_t writes = vf_writer_kernel_writes(s_writer);
    int refused = writer_msg_check_req(data, size, why, sizeof(why));
    writer_serve_handle(s_writer, data, size, &rep);
    if (rep.refused != refused)
        abort();
    if (refused) {
        if (rep.rc != -1 || rep.why[0] == '\0' || rep.result_count != 0 ||
            rep.kernel_writes != writes)
            abort();
        return 0;
    }
    if (writer_msg_check_rep(&rep, sizeof(rep), rep.type, why, sizeof(why)))
        abort();
    return 0;
}
