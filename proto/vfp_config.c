/* vfp_config.c - configuration files read with inih and handed to the
 * daemons' getopt_long parsers as arguments. */
#include "vfp_config.h"

#include <assert.h>
#include <errno.h>
#include <ini.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct vfp_config_t {
    char *path;
    char **argv; /* argv[0] = path; NULL-terminated */
    int *lines;  /* lines[i]: the file line of argv[i] */
    int argc;
    int capacity;
};

/* What one ini_parse_stream run shares with its reader and handler. */
typedef struct {
    vfp_config_t *config;
    FILE *file;
    const struct option *options;
    const char *const *refused;
    int line;        /* the line the reader handed inih last */
    int error_line;  /* the first line we refused, 0 when none */
    char error[256]; /* why */
    int *first_line; /* per option (its index): where it was set, or 0 */
    size_t bytes;    /* read so far: at most S_CONFIG_MAX */
    int read_errno;  /* why the file could not be read, 0 when it could */
} s_parse_t;

/* A configuration file is short; a device or FIFO named by mistake
 * (/dev/zero) must not be read for ever. */
#define S_CONFIG_MAX (1024 * 1024)

static void s_refuse(s_parse_t *parse, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Keeps the first reason only: it is the one reported. */
static void s_refuse(s_parse_t *parse, const char *fmt, ...)
{
    if (parse->error_line)
        return;
    parse->error_line = parse->line;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(parse->error, sizeof(parse->error), fmt, ap);
    va_end(ap);
}

static void s_append(vfp_config_t *self, char *arg, int line)
{
    if (self->argc + 2 > self->capacity) {
        self->capacity = self->capacity ? self->capacity * 2 : 16;
        self->argv = realloc(self->argv, sizeof(char *) * self->capacity);
        self->lines = realloc(self->lines, sizeof(int) * self->capacity);
        assert(self->argv && self->lines);
    }
    self->lines[self->argc] = line;
    self->argv[self->argc++] = arg;
    self->argv[self->argc] = NULL;
}

/* fgets for inih that counts lines, refuses lines inih would cut and
 * section headers (inih would take "[name]" alone without a word), and
 * strips leading blanks, so an indented line is never glued to the value
 * above it (inih's multi-line values). */
static char *s_reader(char *str, int num, void *stream)
{
    s_parse_t *parse = stream;
    if (!fgets(str, num, parse->file)) {
        if (ferror(parse->file))
            parse->read_errno = errno ? errno : EIO;
        return NULL;
    }
    parse->line++;
    size_t len = strlen(str);
    parse->bytes += len;
    /* fgets stops at a newline, the end or a full buffer: short of all
     * three, it read a NUL byte. */
    bool nul = len < (size_t)num - 1 && (len == 0 || str[len - 1] != '\n') &&
               !feof(parse->file);
    if (nul) {
        s_refuse(parse, "a NUL byte: not a text file");
        return NULL;
    }
    if (parse->bytes > S_CONFIG_MAX) {
        s_refuse(parse, "the file is longer than %d bytes", S_CONFIG_MAX);
        return NULL;
    }
    if (len == (size_t)num - 1 && str[len - 1] != '\n' && !feof(parse->file)) {
        s_refuse(parse, "line longer than %d characters", num - 2);
        int c;
        while ((c = fgetc(parse->file)) != EOF && c != '\n')
            if (++parse->bytes > S_CONFIG_MAX)
                return NULL;
    }
    size_t blanks = strspn(str, " \t");
    memmove(str, str + blanks, strlen(str + blanks) + 1);
    if (str[0] == '[')
        s_refuse(parse, "\"%.*s\" starts a section: this file has no sections",
                 (int)strcspn(str, "\r\n"), str);
    return str;
}

static const struct option *s_find(const struct option *options,
                                   const char *name)
{
    for (const struct option *o = options; o->name; o++)
        if (strcmp(o->name, name) == 0)
            return o;
    return NULL;
}

static bool s_listed(const char *const *names, const char *name)
{
    for (; names && *names; names++)
        if (strcmp(*names, name) == 0)
            return true;
    return false;
}

/* A flag's value: 1 set, 0 left alone, -1 not a truth value. */
static int s_truth(const char *value)
{
    static const char *const yes[] = {"true", "yes", "on", NULL};
    static const char *const no[] = {"false", "no", "off", NULL};
    for (int i = 0; yes[i]; i++) {
        if (strcasecmp(value, yes[i]) == 0)
            return 1;
        if (strcasecmp(value, no[i]) == 0)
            return 0;
    }
    return -1;
}

static int s_handler(void *user, const char *section, const char *name,
                     const char *value)
{
    s_parse_t *parse = user;
    const struct option *option = s_find(parse->options, name);
    (void)section; /* a section header is refused by s_reader */
    if (!option)
        s_refuse(parse, "unknown key \"%s\"", name);
    else if (s_listed(parse->refused, name))
        s_refuse(parse, "%s is a command-line option only", name);
    else if (!*value)
        s_refuse(parse, "%s needs a value", name);
    else if (option->has_arg == no_argument && s_truth(value) < 0)
        s_refuse(parse, "%s: \"%s\" is not true or false", name, value);
    /* A second line would win over the first, except a flag's "false",
     * which only leaves it alone: "insecure = false" below "insecure =
     * true" would silently keep it insecure. */
    else if (parse->first_line[option - parse->options])
        s_refuse(parse, "%s given again (first on line %d)", name,
                 parse->first_line[option - parse->options]);
    if (parse->error_line)
        return 0;
    parse->first_line[option - parse->options] = parse->line;
    char *arg;
    int len;
    if (option->has_arg == no_argument) {
        if (s_truth(value) == 0)
            return 1;
        len = asprintf(&arg, "--%s", name);
    } else {
        len = asprintf(&arg, "--%s=%s", name, value);
    }
    /* Out of memory: asprintf leaves arg undefined, so not even NDEBUG
     * builds may go on. */
    if (len < 0)
        abort();
    s_append(parse->config, arg, parse->line);
    return 1;
}

vfp_config_t *vfp_config_load(const char *path, bool required,
                              const struct option *options,
                              const char *const *refused, char *err,
                              size_t errlen)
{
    vfp_config_t *self = calloc(1, sizeof(*self));
    assert(self);
    self->path = strdup(path);
    assert(self->path);
    char *name = strdup(path);
    assert(name);
    s_append(self, name, 0);
    FILE *file = fopen(path, "re");
    if (!file) {
        if (errno == ENOENT && !required)
            return self;
        snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
        vfp_config_destroy(&self);
        return NULL;
    }
    size_t count = 0;
    while (options[count].name)
        count++;
    s_parse_t parse = {.config = self,
                       .file = file,
                       .options = options,
                       .refused = refused,
                       .first_line = calloc(count + 1, sizeof(int))};
    assert(parse.first_line);
    int rc = ini_parse_stream(s_reader, &parse, s_handler, &parse);
    fclose(file);
    free(parse.first_line);
    if (parse.read_errno) {
        /* A directory opens, but does not read. */
        snprintf(err, errlen, "cannot read %s: %s", path,
                 strerror(parse.read_errno));
        vfp_config_destroy(&self);
        return NULL;
    }
    if (rc == 0 && !parse.error_line)
        return self;
    /* inih reports the first line it (or our handler) refused; the reader
     * may have refused an earlier one. */
    if (parse.error_line && (rc <= 0 || parse.error_line <= rc))
        snprintf(err, errlen, "%s:%d: %s", path, parse.error_line, parse.error);
    else if (rc > 0)
        snprintf(err, errlen, "%s:%d: not a \"key = value\" line", path, rc);
    else
        snprintf(err, errlen, "cannot read %s", path);
    vfp_config_destroy(&self);
    return NULL;
}

int vfp_config_argc(const vfp_config_t *self)
{
    return self->argc;
}

char **vfp_config_argv(vfp_config_t *self)
{
    return self->argv;
}

void vfp_config_blame(const vfp_config_t *self, int index, char *err,
                      size_t errlen)
{
    if (index < 1 || index >= self->argc)
        index = self->argc - 1;
    char *copy = strdup(err);
    assert(copy);
    snprintf(err, errlen, "%s:%d: %s", self->path, self->lines[index], copy);
    free(copy);
}

void vfp_config_destroy(vfp_config_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    vfp_config_t *self = *self_p;
    for (int i = 0; i < self->argc; i++)
        free(self->argv[i]);
    free(self->argv);
    free(self->lines);
    free(self->path);
    free(self);
    *self_p = NULL;
}
