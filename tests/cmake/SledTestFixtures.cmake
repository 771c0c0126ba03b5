# Builds instrumented test fixtures with a chosen compiler, independent of the
# project compiler: a fixture source becomes an object file through
# add_custom_command (`-c -O2 -g` + sled's patch-site flags + variant flags),
# which is then linked into a gtest executable or a shared library built by
# the project compiler. Fixtures never get sanitizer flags (a gcc object must
# not pull in gcc's sanitizer runtime): only the final link of a test
# executable carries -fsanitize (added globally by the top level, removed
# here from the fixture libraries).

find_program(SLED_TEST_GCC NAMES gcc REQUIRED)
find_program(SLED_TEST_CLANG NAMES clang REQUIRED)
find_program(SLED_TEST_CLANGXX NAMES clang++ REQUIRED)

# TSan only runs position-independent executables: non-PIE variants are
# skipped in a build whose SLED_SANITIZE contains "thread".
if(SLED_SANITIZE MATCHES "thread")
  set(SLED_TEST_PIE_MODES pie)
else()
  set(SLED_TEST_PIE_MODES pie nopie)
endif()

# Flags for the PIE mode of a fixture object / test executable.
set(SLED_TEST_PIE_FLAGS_pie -fPIE)
set(SLED_TEST_PIE_FLAGS_nopie -fno-pie)
set(SLED_TEST_PIE_FLAGS_pic -fPIC)
# Flags for the CET mode: a landing pad before the patch NOPs (x86 endbr64,
# aarch64 bti c; the variants keep the name "cet" on both).
set(SLED_TEST_CET_FLAGS_plain)
if(SLED_ARCH STREQUAL "aarch64")
  set(SLED_TEST_CET_FLAGS_cet -mbranch-protection=standard)
else()
  set(SLED_TEST_CET_FLAGS_cet -fcf-protection=branch)
endif()
# Extra flags for the clang fixture compilers (a cross build's --target).
set(SLED_TEST_CLANG_FLAGS "" CACHE STRING "Extra flags of the clang fixture compilers")

# The compiler command for a fixture compiler name (gcc | clang | clang++).
function(sled_test_compiler_path out_var name)
  if(name STREQUAL "gcc")
    set(${out_var} ${SLED_TEST_GCC} PARENT_SCOPE)
  elseif(name STREQUAL "clang")
    set(${out_var} ${SLED_TEST_CLANG} PARENT_SCOPE)
  elseif(name STREQUAL "clang++")
    set(${out_var} ${SLED_TEST_CLANGXX} PARENT_SCOPE)
  else()
    message(FATAL_ERROR "sled tests: unknown fixture compiler '${name}'")
  endif()
endfunction()

# sled_fixture_object(<out_var> NAME <unique name> SOURCE <file>
#                     COMPILER gcc|clang|clang++ [FLAGS ...] [PLAIN])
# Compiles SOURCE into ${CMAKE_CURRENT_BINARY_DIR}/fixtures/<NAME>.o and sets
# <out_var> to that path. PLAIN leaves out the patch-site flags (for assembly
# that lays out its own sites).
function(sled_fixture_object out_var)
  cmake_parse_arguments(F "PLAIN" "NAME;SOURCE;COMPILER" "FLAGS" ${ARGN})
  sled_test_compiler_path(cc ${F_COMPILER})
  get_filename_component(src ${F_SOURCE} ABSOLUTE)
  set(obj ${CMAKE_CURRENT_BINARY_DIR}/fixtures/${F_NAME}.o)
  set(instrument ${SLED_INSTRUMENT_FLAGS})
  separate_arguments(instrument UNIX_COMMAND "${instrument}")
  if(F_PLAIN)
    set(instrument)
  endif()
  set(lang_flags)
  if(F_COMPILER MATCHES "^clang")
    list(APPEND lang_flags ${SLED_TEST_CLANG_FLAGS})
  endif()
  if(F_COMPILER STREQUAL "clang++")
    list(APPEND lang_flags -std=c++17)
  elseif(src MATCHES "\\.c$")
    list(APPEND lang_flags -std=gnu11)
  endif()
  add_custom_command(
    OUTPUT ${obj}
    COMMAND ${cc} -c -O2 -g -Wall ${lang_flags} ${instrument} ${F_FLAGS}
            -I${CMAKE_CURRENT_SOURCE_DIR}/fixtures
            -MD -MF ${obj}.d -o ${obj} ${src}
    DEPENDS ${src}
    DEPFILE ${obj}.d
    COMMENT "Fixture ${F_NAME}: ${F_COMPILER} ${F_FLAGS}"
    VERBATIM)
  set_source_files_properties(${obj} PROPERTIES EXTERNAL_OBJECT TRUE GENERATED TRUE)
  set(${out_var} ${obj} PARENT_SCOPE)
endfunction()

# sled_fixture_shared_library(<target> SOURCE <file> COMPILER <name>
#                             [OUTPUT_NAME <name>] [FLAGS ...] [PLAIN])
# A shared library made of one fixture object compiled with -fPIC.
function(sled_fixture_shared_library target)
  cmake_parse_arguments(F "PLAIN" "SOURCE;COMPILER;OUTPUT_NAME" "FLAGS" ${ARGN})
  set(plain)
  if(F_PLAIN)
    set(plain PLAIN)
  endif()
  sled_fixture_object(obj NAME ${target} SOURCE ${F_SOURCE} COMPILER ${F_COMPILER}
                      FLAGS -fPIC ${F_FLAGS} ${plain})
  add_library(${target} SHARED ${obj})
  # A plain library: drop the directory's link options (-fsanitize=...).
  set_target_properties(${target} PROPERTIES LINKER_LANGUAGE C LINK_OPTIONS "")
  if(F_OUTPUT_NAME)
    set_target_properties(${target} PROPERTIES OUTPUT_NAME ${F_OUTPUT_NAME})
  endif()
endfunction()

# sled_test_executable(<target> PIE pie|nopie SOURCES ... LIBRARIES ...)
# A gtest executable linked by the project compiler; nopie links with
# -no-pie. Registered as one ctest test.
function(sled_test_executable target)
  cmake_parse_arguments(T "" "PIE;TIMEOUT" "SOURCES;LIBRARIES;LABELS" ${ARGN})
  add_executable(${target} ${T_SOURCES})
  target_link_libraries(${target} PRIVATE ${T_LIBRARIES} sled::sled GTest::gtest_main
                        ${CMAKE_DL_LIBS} Threads::Threads)
  if(T_PIE STREQUAL "nopie")
    set_target_properties(${target} PROPERTIES POSITION_INDEPENDENT_CODE OFF)
    target_link_options(${target} PRIVATE -no-pie)
  else()
    set_target_properties(${target} PROPERTIES POSITION_INDEPENDENT_CODE ON)
    target_link_options(${target} PRIVATE -pie)
  endif()
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 120)
  endif()
  add_test(NAME ${target} COMMAND ${target})  # a cross build runs it under CMAKE_CROSSCOMPILING_EMULATOR
  set_tests_properties(${target} PROPERTIES TIMEOUT ${T_TIMEOUT} LABELS "${T_LABELS}")
endfunction()

# libFuzzer: whether this build can make fuzz targets (clang's libFuzzer,
# Debian's libclang-rt-14-dev; host builds only: the fuzzer runtime is
# host-only here; not under TSan, which libFuzzer does not support).
include(CheckCXXSourceCompiles)
set(CMAKE_REQUIRED_FLAGS "-fsanitize=fuzzer")
set(CMAKE_REQUIRED_LINK_OPTIONS -fsanitize=fuzzer)
check_cxx_source_compiles(
  "#include <cstddef>\nextern \"C\" int LLVMFuzzerTestOneInput(const unsigned char *, size_t) { return 0; }"
  SLED_HAVE_LIBFUZZER)
unset(CMAKE_REQUIRED_FLAGS)
unset(CMAKE_REQUIRED_LINK_OPTIONS)
if(SLED_HAVE_LIBFUZZER AND NOT CMAKE_CROSSCOMPILING AND NOT SLED_SANITIZE MATCHES "thread")
  set(SLED_CAN_FUZZ ON)
else()
  set(SLED_CAN_FUZZ OFF)
endif()

# sled_fuzz_test(<target> SOURCES <src>... SEEDS <dir> MAX_LEN <n> LABELS <l>...)
# A libFuzzer executable (with ASan when the build has none) and a bounded,
# seeded CTest run of it: 20,000 inputs starting from SEEDS, new inputs
# written to a fresh directory of the build so the seeds stay untouched.
function(sled_fuzz_test target)
  cmake_parse_arguments(F "" "SEEDS;MAX_LEN" "SOURCES;LABELS" ${ARGN})
  set(flags -fsanitize=fuzzer)
  if(NOT SLED_SANITIZE MATCHES "address")
    list(APPEND flags -fsanitize=address)
  endif()
  add_executable(${target} ${F_SOURCES})
  target_compile_options(${target} PRIVATE ${flags})
  target_link_options(${target} PRIVATE ${flags})
  set(out ${CMAKE_CURRENT_BINARY_DIR}/${target}_out)
  add_test(NAME ${target}
    COMMAND sh -c "rm -rf '${out}' && mkdir -p '${out}' && exec \"$0\" -runs=20000 -seed=1 -max_len=${F_MAX_LEN} -rss_limit_mb=1024 -malloc_limit_mb=256 -print_final_stats=1 '${out}' '${F_SEEDS}'"
            $<TARGET_FILE:${target}>)
  set_tests_properties(${target} PROPERTIES LABELS "${F_LABELS}" TIMEOUT 300)
endfunction()
