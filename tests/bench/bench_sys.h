/* bench_sys.h - what the benchmarks read about the machine and about the
 * processes they time, from /proc. */
#ifndef VFLEET_BENCH_SYS_H
#define VFLEET_BENCH_SYS_H

#include <sys/types.h>

/* Prints one line: "machine: N CPUs (MODEL), ALSO, load average A B C"
 * (without ", ALSO" when also is NULL), so that figures can be read
 * against the machine and its load when they were taken. */
void bench_sys_print_machine(const char *also);

/* utime + stime of process pid, in seconds; -1 when it cannot be read. */
double bench_sys_cpu_seconds(pid_t pid);

#endif
