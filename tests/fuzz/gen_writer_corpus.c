/* gen_writer_corpus.c - writes the seed corpus of fuzz_writer_msg into
 * DIR: one valid request of each kind for the fuzzer's tree (ens2f0 of
 * i40e-xxv710), and one of each refused framing. The requests are this
 * build's structs, so the corpus is made at build time, not checked in. */
#include "writer_msg.h"

#include <stdio.h>
#include <string.h>

static int s_write(const char *dir, const char *name, const void *buf,
                   size_t len)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(buf, 1, len, f) != len || fclose(f) != 0) {
        perror(path);
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: gen_writer_corpus DIR\n");
        return 2;
    }
    writer_msg_req_t req;
    vfp_apply_vf_t vf = {
        .index = 3,
        .set = VFP_SET_MAC | VFP_SET_VLAN | VFP_SET_SPOOFCHK | VFP_SET_TRUST |
               VFP_SET_LINK_STATE | VFP_SET_RATE,
        .mac = {0x02, 0x50, 0x56, 0x00, 0x00, 0x07},
        .vlan = 100,
        .qos = 3,
        .vlan_proto = VFP_VLAN_PROTO_8021Q,
        .spoofchk = VFP_ON,
        .trust = VFP_OFF,
        .link_state = VFP_LINK_AUTO,
        .min_tx_rate = 0,
        .max_tx_rate = 1000,
    };
    bool in_use[4] = {false, true, false, true};
    int rc = 0;
    writer_msg_apply_vf(&req, "ens2f0", &vf);
    rc |= s_write(argv[1], "apply-vf", &req, sizeof(req));
    rc |= s_write(argv[1], "short", &req, sizeof(req) / 2);
    writer_msg_num_vfs(&req, "ens2f0", 8, in_use, 4);
    rc |= s_write(argv[1], "num-vfs", &req, sizeof(req));
    writer_msg_hugepages(&req, 2048, 512);
    rc |= s_write(argv[1], "hugepages", &req, sizeof(req));
    req.type = WRITER_MSG_READY;
    rc |= s_write(argv[1], "ready", &req, sizeof(req));
    return rc ? 1 : 0;
}
