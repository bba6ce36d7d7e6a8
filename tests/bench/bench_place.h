/* bench_place.h - controller_bench --place: VM placements through the
 * admin API with synchronous clients (bench_place.c). */
#ifndef VFLEET_BENCH_PLACE_H
#define VFLEET_BENCH_PLACE_H

#include <stdio.h>
#include <sys/types.h>

/* `clients` threads, each sending per_client requests one after the
 * other to admin: vm.create (batch 1) or vm.create.batch with `batch`
 * VMs, with the bench's mix (two networks vlan10 and vlan20, 1-2 NICs,
 * 2-16 GiB, some anti-affinity groups); prints placements/s and the
 * latency percentiles of the requests under `label`, and the CPU time
 * the controller process spent meanwhile. 0, or -1 when a request failed
 * other than by a refusal. */
int bench_place_run(const char *admin, int clients, int per_client, int batch,
                    const char *label, pid_t controller);

/* Times `plan` with count copies of one 4 GiB, one-NIC VM, five times;
 * prints min, median and max. 0, or -1 when it was not answered OK. */
int bench_place_plan(const char *admin, int count);

/* Writes a line per vm.create to file from now on ("RUN CLIENT START_S
 * LATENCY_MS"; runs count from 1, START_S from the run's start); NULL
 * stops. */
void bench_place_latencies(FILE *file);

/* The same synchronous clients against a ROUTER in this process that
 * only sends each message back: what ZeroMQ over tcp loopback costs on
 * this machine before the controller does anything. Prints round trips
 * per second and the latency percentiles. 0, or -1 when it failed. */
int bench_place_floor(int clients, int per_client);

#endif
