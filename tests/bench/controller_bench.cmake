# controller_bench: ingestion and heartbeat load of the real controller.
# Run: build/tests/bench/controller_bench build/controller/vfleet-controller
#      10000 2 32 10
add_executable(controller_bench controller_bench.c)
target_link_libraries(controller_bench PRIVATE vfleet_test_peer
                      vfleet_bench_sys)
