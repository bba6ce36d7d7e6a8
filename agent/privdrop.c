/* privdrop.c - capabilities and the user change of the agent's two
 * processes, through the capset(2) and prctl(2) system calls themselves
 * (no libcap: three calls do not need a library). */
#include "privdrop.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "desired_state.h"
#include "vfp_log.h"

/* Sets the effective and permitted sets to `keep`, inheritable to none:
 * only ever a subset of what the process holds, which needs no
 * privilege. */
static int s_capset(uint64_t keep)
{
    struct __user_cap_header_struct head = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct data[2];
    memset(data, 0, sizeof(data));
    data[0].effective = data[0].permitted = (uint32_t)keep;
    data[1].effective = data[1].permitted = (uint32_t)(keep >> 32);
    return (int)syscall(SYS_capset, &head, data);
}

static uint64_t s_capget(int which)
{
    struct __user_cap_header_struct head = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct data[2];
    memset(data, 0, sizeof(data));
    if (syscall(SYS_capget, &head, data))
        return 0;
    if (which == 'p')
        return data[0].permitted | (uint64_t)data[1].permitted << 32;
    return data[0].effective | (uint64_t)data[1].effective << 32;
}

uint64_t privdrop_effective(void)
{
    return s_capget('e');
}

/* Ambient capabilities and no_new_privs: no execve can give back what was
 * dropped (the agent never executes anything; this makes it hold). */
static int s_seal(char *why, size_t whylen)
{
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) &&
        errno != EINVAL) {
        snprintf(why, whylen, "clearing ambient capabilities: %s",
                 strerror(errno));
        return -1;
    }
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)) {
        snprintf(why, whylen, "no_new_privs: %s", strerror(errno));
        return -1;
    }
    return 0;
}

/* Drops every capability but those of keep from the bounding set, when
 * the process may: under systemd the bounding set is already the unit's
 * and CAP_SETPCAP is not in it, so EPERM ends the loop. */
static void s_bound(uint64_t keep)
{
    for (int cap = 0; cap < 64; cap++) {
        if ((keep >> cap & 1) || prctl(PR_CAPBSET_READ, cap, 0, 0, 0) != 1)
            continue;
        if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0))
            break;
    }
}

int privdrop_writer(char *why, size_t whylen)
{
    uint64_t keep = s_capget('p') & (UINT64_C(1) << CAP_NET_ADMIN);
    s_bound(UINT64_C(1) << CAP_NET_ADMIN);
    if (s_capset(keep)) {
        snprintf(why, whylen, "capset: %s", strerror(errno));
        return -1;
    }
    return s_seal(why, whylen);
}

/* Gives name (in directory dirfd; "." for itself) to uid:gid, following
 * no link. One the user owns already is left alone: changing an owner
 * needs CAP_CHOWN, which the unit does not grant. 0, or -1. */
static int s_give(int dirfd, const char *name, uid_t uid, gid_t gid)
{
    struct stat st;
    if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW))
        return -1;
    if (st.st_uid == uid && st.st_gid == gid)
        return 0;
    return fchownat(dirfd, name, uid, gid, AT_SYMLINK_NOFOLLOW);
}

/* Gives state_dir and the files directly in it to uid:gid. A directory
 * the user owns already is the user's (the package's postinst gives it
 * to vfleet): uid 0 without CAP_DAC_OVERRIDE could not even list it. 0,
 * or -1 with why. */
static int s_chown_state(const char *dir, uid_t uid, gid_t gid, char *why,
                         size_t whylen)
{
    struct stat st;
    if (desired_state_dir_init(dir, why, whylen))
        return -1;
    if (stat(dir, &st) == 0 && st.st_uid == uid && st.st_gid == gid)
        return 0;
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    DIR *d = fd < 0 || s_give(fd, ".", uid, gid) ? NULL : fdopendir(fd);
    const char *failed = NULL;
    for (struct dirent *e; d && !failed && (e = readdir(d));)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") &&
            s_give(fd, e->d_name, uid, gid))
            failed = e->d_name;
    if (!d || failed) {
        snprintf(why, whylen,
                 "state directory %s%s%s: cannot give it to "
                 "uid %u: %s",
                 dir, failed ? "/" : "", failed ? failed : "", (unsigned)uid,
                 strerror(errno));
        if (d)
            closedir(d);
        else if (fd >= 0)
            close(fd);
        return -1;
    }
    closedir(d);
    return 0;
}

/* Changes to pw's uid and gid for good, checked: uid 0 cannot come back. */
static int s_change_user(const struct passwd *pw, char *why, size_t whylen)
{
    if (setgroups(0, NULL) || setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) ||
        setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid)) {
        snprintf(why, whylen, "changing to user %s: %s", pw->pw_name,
                 strerror(errno));
        return -1;
    }
    if (pw->pw_uid != 0 && (setuid(0) == 0 || geteuid() == 0)) {
        snprintf(why, whylen, "uid 0 could be regained after changing to %s",
                 pw->pw_name);
        return -1;
    }
    return 0;
}

/* As root: to `user`, or, when it does not exist and was not asked for by
 * name, stay uid 0 with a warning. 0, or -1 with why. */
static int s_leave_root(const char *user, bool user_given,
                        const char *state_dir, char *why, size_t whylen)
{
    errno = 0;
    struct passwd *pw = getpwnam(user);
    if (!pw && user_given) {
        snprintf(why, whylen, "--user %s: %s", user,
                 errno ? strerror(errno) : "no such user");
        return -1;
    }
    if (!pw) {
        vfp_log_warnx("user %s does not exist: the network process keeps "
                      "uid 0 (without capabilities); create the user, as "
                      "the package does, or give --user",
                      user);
        return 0;
    }
    if (s_chown_state(state_dir, pw->pw_uid, pw->pw_gid, why, whylen) ||
        s_change_user(pw, why, whylen))
        return -1;
    vfp_log_info("network process: user %s (uid %u, gid %u), no capabilities",
                 user, (unsigned)pw->pw_uid, (unsigned)pw->pw_gid);
    return 0;
}

int privdrop_network(const char *user, bool user_given, const char *state_dir,
                     char *why, size_t whylen)
{
    s_bound(0);
    if (geteuid() == 0) {
        if (s_leave_root(user, user_given, state_dir, why, whylen))
            return -1;
    } else
        vfp_log_info("not started as root: the network process keeps uid %u "
                     "and drops its capabilities only",
                     (unsigned)geteuid());
    if (s_capset(0)) {
        snprintf(why, whylen, "capset: %s", strerror(errno));
        return -1;
    }
    return s_seal(why, whylen);
}
