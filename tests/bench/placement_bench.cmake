# placement_bench: decide + vm_add rate and latency of the placement index
# at 1,000 and 10,000 hosts, a refusal, and plan_count(1000).
# Run: build/tests/bench/placement_bench [HOSTS VMS] ...
add_executable(placement_bench placement_bench.c)
target_link_libraries(placement_bench PRIVATE vfleet_controller
                      vfleet_bench_sys)
