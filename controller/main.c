/* main.c - vfleet-controller: parse options, run the controller. */
#include <malloc.h>
#include <stdio.h>

#include "controller.h"
#include "vfp_log.h"

int main(int argc, char **argv)
{
    controller_config_t cfg;
    char err[4096];
    int rc = controller_options_parse(argc, argv, &cfg, err, sizeof(err));
    if (rc == 1)
        return 0;
    if (rc < 0) {
        fprintf(stderr, "vfleet-controller: %s\n", err);
        fprintf(stderr, "Try 'vfleet-controller --help'.\n");
        return 2;
    }
    vfp_log_init("vfleet-controller", cfg.log_level, cfg.use_syslog);
    /* A fixed threshold keeps glibc from raising it after the first large
     * free: every message body over 256 KiB is then its own mapping,
     * returned to the kernel when the message is freed, instead of heap
     * that a flood of 16 MiB messages would leave behind (docs/SECURITY.md,
     * "Memory bound"). */
    mallopt(M_MMAP_THRESHOLD, 256 * 1024);
    controller_t *controller = controller_new(&cfg, err, sizeof(err));
    if (!controller)
        vfp_fatalx("%s", err);
    rc = controller_run(controller);
    controller_destroy(&controller);
    return rc == 0 ? 0 : 1;
}
