# bench_sys: machine and process figures shared by the benchmarks.
add_library(vfleet_bench_sys STATIC bench_sys.c)
target_include_directories(vfleet_bench_sys PUBLIC ${CMAKE_CURRENT_SOURCE_DIR})
