/* sysfs_attr.c - reading sysfs/procfs attributes and links with reasons. */
#include "sysfs_attr.h"

#include <assert.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent_text.h"

/* Attributes are small; anything longer than this is not what we expect. */
#define ATTR_MAX 4096

static int s_path(char *buf, size_t len, const char *dir, const char *name,
                  char *why, size_t whylen)
{
    if (agent_text_path_join(buf, len, dir, name, NULL) == 0)
        return 0;
    snprintf(why, whylen, "%s: path too long", name);
    return -1;
}

int sysfs_attr_read_str(const char *dir, const char *name, char *buf,
                        size_t len, char *why, size_t whylen)
{
    char path[PATH_MAX];
    char data[ATTR_MAX];
    if (s_path(path, sizeof(path), dir, name, why, whylen))
        return -1;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(why, whylen, "%s: %s", name, strerror(errno));
        return -1;
    }
    ssize_t got;
    do
        got = read(fd, data, sizeof(data) - 1);
    while (got < 0 && errno == EINTR);
    int saved = errno;
    close(fd);
    if (got < 0) {
        snprintf(why, whylen, "%s: %s", name, strerror(saved));
        return -1;
    }
    data[got] = '\0';
    if (memchr(data, '\0', (size_t)got)) {
        snprintf(why, whylen, "%s: contains a NUL byte", name);
        return -1;
    }
    while (got > 0 && isspace((unsigned char)data[got - 1]))
        data[--got] = '\0';
    if ((size_t)got >= len) {
        snprintf(why, whylen, "%s: value longer than %zu bytes", name, len - 1);
        return -1;
    }
    memcpy(buf, data, (size_t)got + 1);
    return 0;
}

/* A value quoted in a reason: printable and short, so that garbage in a
 * file cannot garble the report. */
static void s_quote(const char *text, char *buf, size_t len)
{
    size_t o = 0;
    for (const char *p = text; *p && o + 2 < len; p++)
        buf[o++] = isprint((unsigned char)*p) ? *p : '?';
    buf[o] = '\0';
    if (strlen(text) >= len - 1 && len > 4)
        memcpy(buf + len - 4, "...", 4);
}

int sysfs_attr_read_long(const char *dir, const char *name, long min, long max,
                         long *value, char *why, size_t whylen)
{
    char text[64];
    if (sysfs_attr_read_str(dir, name, text, sizeof(text), why, whylen))
        return -1;
    if (agent_text_parse_long(text, min, max, value) == 0)
        return 0;
    char quoted[40];
    s_quote(text, quoted, sizeof(quoted));
    if (max == LONG_MAX)
        snprintf(why, whylen, "%s: not a number >= %ld: '%s'", name, min,
                 quoted);
    else
        snprintf(why, whylen, "%s: not a number in %ld..%ld: '%s'", name, min,
                 max, quoted);
    return -1;
}

int sysfs_attr_read_hex(const char *dir, const char *name, unsigned long max,
                        unsigned long *value, char *why, size_t whylen)
{
    char text[64];
    if (sysfs_attr_read_str(dir, name, text, sizeof(text), why, whylen))
        return -1;
    const char *digits = text;
    if (digits[0] == '0' && (digits[1] == 'x' || digits[1] == 'X'))
        digits += 2;
    bool ok = *digits != '\0';
    for (const char *p = digits; *p; p++)
        ok = ok && isxdigit((unsigned char)*p);
    if (ok) {
        errno = 0;
        unsigned long v = strtoul(digits, NULL, 16);
        if (errno == 0 && v <= max) {
            *value = v;
            return 0;
        }
    }
    char quoted[40];
    s_quote(text, quoted, sizeof(quoted));
    snprintf(why, whylen, "%s: not a hex number up to 0x%lx: '%s'", name, max,
             quoted);
    return -1;
}

int sysfs_attr_link_target(const char *dir, const char *name, char *buf,
                           size_t len, char *why, size_t whylen)
{
    char path[PATH_MAX];
    char target[PATH_MAX];
    if (s_path(path, sizeof(path), dir, name, why, whylen))
        return -1;
    ssize_t n = readlink(path, target, sizeof(target) - 1);
    if (n < 0) {
        snprintf(why, whylen, "%s: %s", name,
                 errno == EINVAL ? "not a symlink" : strerror(errno));
        return -1;
    }
    target[n] = '\0';
    while (n > 1 && target[n - 1] == '/')
        target[--n] = '\0';
    const char *base = strrchr(target, '/');
    base = base ? base + 1 : target;
    if (!*base || strlen(base) >= len) {
        snprintf(why, whylen, "%s: unusable link target", name);
        return -1;
    }
    memcpy(buf, base, strlen(base) + 1);
    return 0;
}

bool sysfs_attr_exists(const char *dir, const char *name)
{
    char path[PATH_MAX];
    struct stat st;
    if (agent_text_path_join(path, sizeof(path), dir, name, NULL))
        return false;
    return stat(path, &st) == 0;
}

static int s_cmp_numeric(const void *a, const void *b, void *prefix)
{
    size_t plen = strlen(prefix);
    long x = strtol(*(char *const *)a + plen, NULL, 10);
    long y = strtol(*(char *const *)b + plen, NULL, 10);
    return (x > y) - (x < y);
}

static int s_cmp_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool s_has_numeric_suffix(const char *name, const char *prefix)
{
    size_t plen = strlen(prefix);
    if (strncmp(name, prefix, plen) != 0 || !name[plen])
        return false;
    /* "virtfn01" would alias "virtfn1": the kernel never writes zeros */
    if (strlen(name + plen) > 9 || (name[plen] == '0' && name[plen + 1]))
        return false;
    for (const char *p = name + plen; *p; p++)
        if (!isdigit((unsigned char)*p))
            return false;
    return true;
}

int sysfs_attr_dir_list(const char *dir, const char *numeric_suffix_of,
                        char ***names_p, char *why, size_t whylen)
{
    *names_p = NULL;
    DIR *d = opendir(dir);
    if (!d) {
        const char *base = strrchr(dir, '/');
        snprintf(why, whylen, "%s: %s", base ? base + 1 : dir, strerror(errno));
        return -1;
    }
    size_t count = 0, cap = 16;
    char **names = malloc(cap * sizeof(*names));
    assert(names);
    struct dirent *de;
    while ((de = readdir(d))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        if (numeric_suffix_of &&
            !s_has_numeric_suffix(de->d_name, numeric_suffix_of))
            continue;
        if (count + 1 >= cap) {
            cap *= 2;
            names = realloc(names, cap * sizeof(*names));
            assert(names);
        }
        names[count] = strdup(de->d_name);
        assert(names[count]);
        count++;
    }
    closedir(d);
    names[count] = NULL;
    if (numeric_suffix_of) {
        qsort_r(names, count, sizeof(*names), s_cmp_numeric,
                (void *)numeric_suffix_of);
    } else
        qsort(names, count, sizeof(*names), s_cmp_name);
    *names_p = names;
    return (int)count;
}

void sysfs_attr_names_free(char ***names_p)
{
    if (!names_p || !*names_p)
        return;
    for (char **p = *names_p; *p; p++)
        free(*p);
    free(*names_p);
    *names_p = NULL;
}
