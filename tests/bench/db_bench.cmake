# db_bench: every admin listing timed through the db API and, given the
# binaries, through the real controller and vfleetctl.
# Run: build/tests/bench/db_bench 10000 2 32 \
#      build/controller/vfleet-controller build/cli/vfleetctl
add_executable(db_bench db_bench.c)
target_link_libraries(db_bench PRIVATE vfleet_db vfleet_test_peer
                      vfleet_bench_sys PkgConfig::SQLITE)
