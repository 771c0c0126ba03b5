# The aarch64 cross build of aarch64-linux-gnu.cmake, compiled with Debian's
# cross GCC instead of clang, for the arm64-asan configuration: GCC's
# runtimes exist for arm64 (libasan8-arm64-cross, libubsan1-arm64-cross),
# clang 14's do not. The C++ fixtures are still built with clang
# (SLED_TEST_CLANGXX: GCC 12 drops the sites of COMDAT functions, PR110729).
include(${CMAKE_CURRENT_LIST_DIR}/aarch64-linux-gnu.cmake)
set(CMAKE_C_COMPILER /usr/bin/${SLED_CROSS_TRIPLE}-gcc)
set(CMAKE_CXX_COMPILER /usr/bin/${SLED_CROSS_TRIPLE}-g++)
set(CMAKE_ASM_COMPILER /usr/bin/${SLED_CROSS_TRIPLE}-gcc)
unset(CMAKE_C_COMPILER_TARGET)
unset(CMAKE_CXX_COMPILER_TARGET)
unset(CMAKE_ASM_COMPILER_TARGET)

# ASan's aarch64 runtime sizes its shadow from where the stack is (qemu puts
# it below 2^39: a 39-bit address space), but qemu-user hands out guest
# mappings anywhere in the host's 47 bits: a library mapped above 2^39 has
# no shadow (SEGV at its first checked access). -R reserves 2^39 bytes of
# guest address space and keeps every mapping inside it.
if(SLED_SANITIZE MATCHES "address")
  set(CMAKE_CROSSCOMPILING_EMULATOR qemu-aarch64 -R 0x8000000000 ${SLED_QEMU_OPTIONS})
endif()
