/* cli_git.c - a policy file's git commit id, read by running git: its
 * output is read through a pipe, its stderr discarded, and any failure
 * (git missing, not a repository) means "no commit id". */
#include "cli_git.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* Output beyond this is not read: a commit id is 64 characters, and a
 * status line of one file is short; more output still means "dirty". */
#define S_OUTPUT_MAX 4096

/* The child: stdout to the pipe, stdin and stderr to /dev/null, git. */
static void s_exec_git(char *const argv[], int out_fd)
{
    int null_fd = open("/dev/null", O_RDWR);
    if (null_fd < 0 || dup2(null_fd, STDIN_FILENO) < 0 ||
        dup2(null_fd, STDERR_FILENO) < 0 || dup2(out_fd, STDOUT_FILENO) < 0)
        _exit(127);
    execvp("git", argv);
    _exit(127);
}

/* Runs git with argv and reads its output into out (NUL-terminated).
 * Returns its length, or -1 when git could not run or failed. */
static ssize_t s_run(char *const argv[], char *out, size_t size)
{
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0)
        return -1;
    pid_t pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        return -1;
    }
    if (pid == 0)
        s_exec_git(argv, fds[1]);
    close(fds[1]);
    size_t len = 0;
    char sink[256];
    for (;;) {
        bool room = len + 1 < size;
        ssize_t n = room ? read(fds[0], out + len, size - 1 - len)
                         : read(fds[0], sink, sizeof(sink));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        if (room)
            len += (size_t)n;
    }
    close(fds[0]);
    out[len] = '\0';
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    bool ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    return ok ? (ssize_t)len : -1;
}

static bool s_is_commit_id(const char *text)
{
    size_t len = strlen(text);
    return (len == 40 || len == 64) && strspn(text, "0123456789abcdef") == len;
}

cli_git_state_t cli_git_commit(const char *path, char commit[65])
{
    commit[0] = '\0';
    char *dir_copy = strdup(path), *base_copy = strdup(path);
    if (!dir_copy || !base_copy) {
        free(dir_copy);
        free(base_copy);
        return CLI_GIT_NONE;
    }
    char *dir = dirname(dir_copy), *base = basename(base_copy);
    char out[S_OUTPUT_MAX];
    char *log_argv[] = {"git",         "-C", dir,  "log", "-1",
                        "--format=%H", "--", base, NULL};
    char *status_argv[] = {"git",         "-C", dir,  "status",
                           "--porcelain", "--", base, NULL};
    cli_git_state_t state = CLI_GIT_NONE;
    if (s_run(log_argv, out, sizeof(out)) >= 0) {
        out[strcspn(out, "\n")] = '\0';
        bool committed = s_is_commit_id(out);
        if (committed)
            memcpy(commit, out, strlen(out) + 1);
        ssize_t n = s_run(status_argv, out, sizeof(out));
        if (n < 0)
            state = CLI_GIT_NONE;
        else
            state = committed && n == 0 ? CLI_GIT_COMMITTED : CLI_GIT_DIRTY;
    }
    if (state != CLI_GIT_COMMITTED)
        commit[0] = '\0';
    free(dir_copy);
    free(base_copy);
    return state;
}
