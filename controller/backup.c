/* backup.c - vfleet-controller --backup and --restore: a copy of the
 * database taken beside the running daemon, and such a copy put back in
 * place while no controller runs on the database. */
#include <errno.h>
#include <libgen.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "controller.h"
#include "vfleet_db.h"

int controller_backup(const controller_config_t *cfg, char *err, size_t errlen)
{
    db_err_t dberr;
    int version = 0;
    if (db_backup(cfg->db_path, cfg->backup_file, &version, &dberr) != 0) {
        snprintf(err, errlen, "backup not written: %s", dberr.text);
        return -1;
    }
    printf("backup of %s written to %s (schema version %d, integrity_check "
           "ok)\n",
           cfg->db_path, cfg->backup_file, version);
    return 0;
}

/* The directory holding the database, made (0700) on a new machine. */
static int s_dir(const char *db_path, struct stat *st, char *err, size_t errlen)
{
    char copy[sizeof(((controller_config_t *)0)->db_path)];
    snprintf(copy, sizeof(copy), "%s", db_path);
    const char *dir = dirname(copy);
    if ((mkdir(dir, 0700) != 0 && errno != EEXIST) || stat(dir, st) != 0) {
        snprintf(err, errlen, "nothing restored: %s: %s", dir, strerror(errno));
        return -1;
    }
    return 0;
}

/* Run as root (the unit runs the daemon as its own user), the restored
 * database and its lock file get the owner of the directory holding
 * them, so that the daemon can open them. */
static void s_own(const char *db_path, const struct stat *dir)
{
    if (geteuid() != 0)
        return;
    char lock[sizeof(((controller_config_t *)0)->db_path) + 8];
    snprintf(lock, sizeof(lock), "%s.lock", db_path);
    if (chown(db_path, dir->st_uid, dir->st_gid) != 0 ||
        chown(lock, dir->st_uid, dir->st_gid) != 0)
        fprintf(stderr, "vfleet-controller: cannot give %s to uid %u: %s\n",
                db_path, (unsigned)dir->st_uid, strerror(errno));
}

int controller_restore(const controller_config_t *cfg, char *err, size_t errlen)
{
    struct stat dir;
    if (s_dir(cfg->db_path, &dir, err, errlen) != 0)
        return -1;
    /* Held until the file is in place: a controller started meanwhile is
     * refused. */
    int fd = -1;
    char why[4352];
    if (controller_lock(cfg->db_path, &fd, why, sizeof(why)) != 0) {
        snprintf(err, errlen, "nothing restored: %s; stop it first", why);
        if (fd >= 0)
            close(fd);
        return -1;
    }
    db_err_t dberr;
    int version = 0;
    struct stat old;
    bool replaced = stat(cfg->db_path, &old) == 0;
    int rc = db_restore(cfg->db_path, cfg->restore_file, &version, &dberr);
    if (rc == 0)
        s_own(cfg->db_path, &dir);
    close(fd);
    if (rc != 0) {
        snprintf(err, errlen, "nothing restored: %s", dberr.text);
        return -1;
    }
    printf("%s restored from %s (schema version %d, integrity_check ok)",
           cfg->db_path, cfg->restore_file, version);
    if (replaced)
        printf("; the database it replaced is kept as %s.before-restore",
               cfg->db_path);
    printf("\n");
    return 0;
}
