# Helpers to declare tests the same way everywhere.
#
# vfleet_unit_test(NAME SOURCES src... LIBS lib... [LABELS l...])
#   A cmocka test program, labelled "unit"; under VFLEET_VALGRIND it runs
#   inside valgrind memcheck and fails on any error or leak.
function(vfleet_unit_test name)
  cmake_parse_arguments(T "" "" "SOURCES;LIBS;LABELS;ARGS" ${ARGN})
  add_executable(${name} ${T_SOURCES})
  target_link_libraries(${name} PRIVATE ${T_LIBS} PkgConfig::CMOCKA)
  set(cmd $<TARGET_FILE:${name}> ${T_ARGS})
  if(VFLEET_VALGRIND)
    set(cmd valgrind --quiet --error-exitcode=99 --leak-check=full
        --show-leak-kinds=definite,indirect,possible
        --errors-for-leak-kinds=definite,indirect,possible ${cmd})
  endif()
  add_test(NAME ${name} COMMAND ${cmd}
           WORKING_DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR})
  set_tests_properties(${name} PROPERTIES LABELS "unit;${T_LABELS}"
    ENVIRONMENT "VFLEET_SOURCE_DIR=${PROJECT_SOURCE_DIR};VFLEET_BINARY_DIR=${PROJECT_BINARY_DIR}")
endfunction()

# vfleet_script_test(NAME COMMAND cmd... [LABELS l...] [TIMEOUT s])
#   A test driven by a script or a real binary (integration, regress).
function(vfleet_script_test name)
  cmake_parse_arguments(T "" "TIMEOUT" "COMMAND;LABELS" ${ARGN})
  add_test(NAME ${name} COMMAND ${T_COMMAND}
           WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 300)
  endif()
  set_tests_properties(${name} PROPERTIES LABELS "${T_LABELS}"
    TIMEOUT ${T_TIMEOUT}
    ENVIRONMENT "VFLEET_SOURCE_DIR=${PROJECT_SOURCE_DIR};VFLEET_BINARY_DIR=${PROJECT_BINARY_DIR}")
endfunction()
