/* vf_kernel.c - the --kernel choice: names, and whether a sysfs root is
 * this host's own. */
#include "vf_kernel.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

int vf_kernel_parse(const char *text, vf_kernel_t *out)
{
    if (!strcmp(text, "netlink"))
        *out = VF_KERNEL_NETLINK;
    else if (!strcmp(text, "sim"))
        *out = VF_KERNEL_SIM;
    else
        return -1;
    return 0;
}

const char *vf_kernel_name(vf_kernel_t kernel)
{
    return kernel == VF_KERNEL_SIM ? "sim" : "netlink";
}

bool vf_kernel_recorded_tree(const char *sysfs_root)
{
    char real[PATH_MAX];
    if (!sysfs_root)
        return false;
    /* "/sys/", "/sys/." or a link to /sys are the live sysfs too: the
     * refusal to send netlink must not be dodged by spelling. */
    return !realpath(sysfs_root, real) || strcmp(real, "/sys") != 0;
}
