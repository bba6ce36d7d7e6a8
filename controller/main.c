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
    if (cfg.backup_file[0] || cfg.restore_file[0]) {
        rc = cfg.backup_file[0] ? controller_backup(&cfg, err, sizeof(err))
                                : controller_restore(&cfg, err, sizeof(err));
        if (rc != 0)
            fprintf(stderr, "vfleet-controller: %s\n", err);
        return rc == 0 ? 0 : 1;
    }
    vfp_log_init("vfleet-controller", cfg.log_level, cfg.use_syslog);
    /* A fixed threshold keeps glibc from raising it after the first large
     * free: every message body over 256 KiB is then its own mapping,
     * returned to the kernel when the message is freed, instead of heap
     * that a flood of 16 MiB messages would leave behind (docs/SECURITY.md,
     * "Memory bound"). */
    mallopt(M_MMAP_THRESHOLD, 256 * 1024);
    /* Each admin request is decoded into a 35 KiB message on the admin
     * thread and freed on the main one; at the default 128 KiB glibc gave
     * a few in-flight requests' heap back to the kernel as soon as they
     * were freed and faulted it in again for the next ones (4 to 6 % of the
     * controller's CPU while placing). Keeping up to 1 MiB free at the top
     * of each thread's heap never raises the peak, which the memory bound
     * counts; the --memory-max valve still trims everything. */
    mallopt(M_TRIM_THRESHOLD, 1024 * 1024);
    controller_t *controller = controller_new(&cfg, err, sizeof(err));
    if (!controller)
        vfp_fatalx("%s", err);
    rc = controller_run(controller);
    controller_destroy(&controller);
    return rc == 0 ? 0 : 1;
}
