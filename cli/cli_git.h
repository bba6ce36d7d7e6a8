/* cli_git.h - the git commit a policy file was last committed in, so a
 * stored policy revision names where its text came from. git runs as a
 * child process (fork and exec, never a shell). */
#ifndef VFLEET_CLI_GIT_H
#define VFLEET_CLI_GIT_H

#include <stdbool.h>

/* What cli_git_commit found. */
typedef enum {
    CLI_GIT_COMMITTED, /* commit holds the id of the file's last commit */
    CLI_GIT_DIRTY,     /* the file differs from its last commit, or was
                        * never committed */
    CLI_GIT_NONE,      /* no git, not inside a repository, or git failed */
} cli_git_state_t;

/* Asks git, in the directory of path, for the last commit of path
 * (git log -1 --format=%H -- FILE) and whether the file is committed
 * unchanged (git status --porcelain -- FILE prints nothing). commit
 * receives the 40 or 64 hex digits, "" unless CLI_GIT_COMMITTED. */
cli_git_state_t cli_git_commit(const char *path, char commit[65]);

#endif
