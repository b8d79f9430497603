# Helpers for declaring tests, benchmarks and fuzzers next to the code.

# stackhouse_test(NAME SOURCES a_test.cc ... DEPS lib ...)
function(stackhouse_test name)
  if(NOT STACKHOUSE_TESTS OR STACKHOUSE_FUZZ)
    return()
  endif()
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS;LABELS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} stackhouse_testing GTest::gtest_main GTest::gmock)
  add_test(NAME ${name} COMMAND ${name})
  set_tests_properties(${name} PROPERTIES
    ENVIRONMENT "STACKHOUSE_SHARED_DIR=${STACKHOUSE_SHARED_DIR};STACKHOUSE_TESTDATA_DIR=${STACKHOUSE_TESTDATA_DIR};STACKHOUSE_BIN_DIR=${CMAKE_BINARY_DIR}/bin"
    TIMEOUT 600)
  if(ARG_LABELS)
    set_tests_properties(${name} PROPERTIES LABELS "${ARG_LABELS}")
  endif()
endfunction()

# stackhouse_fuzzer(NAME SOURCES x_fuzzer.cc DEPS lib ... CORPUS dir)
# In a fuzz build (clang) this is a libFuzzer binary. In a normal build the
# same entry point is linked with a replay driver and registered as a test
# that runs every file of the seed corpus once.
function(stackhouse_fuzzer name)
  cmake_parse_arguments(ARG "" "CORPUS" "SOURCES;DEPS" ${ARGN})
  if(STACKHOUSE_FUZZ)
    add_executable(${name} ${ARG_SOURCES})
    target_link_libraries(${name} PRIVATE ${ARG_DEPS})
    target_link_options(${name} PRIVATE -fsanitize=fuzzer)
    file(APPEND ${CMAKE_BINARY_DIR}/fuzzers.txt "${name} ${ARG_CORPUS}\n")
  elseif(STACKHOUSE_TESTS)
    add_executable(${name}_replay ${ARG_SOURCES} ${CMAKE_SOURCE_DIR}/src/base/testing/fuzz_replay_main.cc)
    target_link_libraries(${name}_replay PRIVATE ${ARG_DEPS})
    add_test(NAME ${name}_replay COMMAND ${name}_replay ${ARG_CORPUS})
    set_tests_properties(${name}_replay PROPERTIES TIMEOUT 300)
  endif()
endfunction()

# stackhouse_benchmark(NAME SOURCES x_benchmark.cc DEPS lib ...)
function(stackhouse_benchmark name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  if(STACKHOUSE_FUZZ)
    return()
  endif()
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS})
endfunction()
