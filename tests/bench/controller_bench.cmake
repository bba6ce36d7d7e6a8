# controller_bench: ingestion, heartbeat load, and admin listings alone and
# under load (with the host-down count) of the real controller.
# Run: build/tests/bench/controller_bench --cli build/cli/vfleetctl \
#      [--apply tests/bench/rollout-policy.yaml] \
#      [--apply tests/bench/placement-policy.yaml --place 20000] \
#      build/controller/vfleet-controller 10000 2 32 10
find_package(Threads REQUIRED)
add_executable(controller_bench controller_bench.c bench_place.c)
target_link_libraries(controller_bench PRIVATE vfleet_test_peer
                      vfleet_bench_sys Threads::Threads m)
