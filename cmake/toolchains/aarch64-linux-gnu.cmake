# Cross build for aarch64 Linux from an x86_64 Debian host, tests run under
# qemu-user (bash tools/test.sh arm64; packages in tools/deps.sh):
#   cmake -S . -B build-arm64 -DCMAKE_TOOLCHAIN_FILE=cmake/toolchains/aarch64-linux-gnu.cmake
# The project and its C++ fixtures build with clang --target=aarch64-linux-gnu
# (GCC 12 drops COMDAT sites, DESIGN.md), the GCC fixtures with
# aarch64-linux-gnu-gcc; libraries come from Debian's arm64 multiarch
# packages (libelf-dev:arm64) and the cross libc in /usr/aarch64-linux-gnu.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(SLED_CROSS_TRIPLE aarch64-linux-gnu)

set(CMAKE_C_COMPILER clang)
set(CMAKE_CXX_COMPILER clang++)
set(CMAKE_ASM_COMPILER clang)
set(CMAKE_C_COMPILER_TARGET ${SLED_CROSS_TRIPLE})
set(CMAKE_CXX_COMPILER_TARGET ${SLED_CROSS_TRIPLE})
set(CMAKE_ASM_COMPILER_TARGET ${SLED_CROSS_TRIPLE})

# Fixture compilers (tests/cmake/SledTestFixtures.cmake).
set(SLED_TEST_GCC /usr/bin/${SLED_CROSS_TRIPLE}-gcc CACHE FILEPATH "")
set(SLED_TEST_CLANG /usr/bin/clang CACHE FILEPATH "")
set(SLED_TEST_CLANGXX /usr/bin/clang++ CACHE FILEPATH "")
set(SLED_TEST_CLANG_FLAGS --target=${SLED_CROSS_TRIPLE} CACHE STRING "")

set(CMAKE_FIND_ROOT_PATH /usr/${SLED_CROSS_TRIPLE} /usr/lib/${SLED_CROSS_TRIPLE})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE BOTH)
set(CMAKE_LIBRARY_ARCHITECTURE ${SLED_CROSS_TRIPLE})
set(ENV{PKG_CONFIG_LIBDIR} "/usr/lib/${SLED_CROSS_TRIPLE}/pkgconfig:/usr/share/pkgconfig")
set(ENV{PKG_CONFIG_PATH} "")

# Tests run under qemu-user; -cpu max gives BTI (enforced for BTI-marked
# binaries). -L: the dynamic loader and libstdc++ come from the cross libc in
# /usr/aarch64-linux-gnu. LD_LIBRARY_PATH keeps libc.so.6 from that same
# package: libelf-dev:arm64 also installs libc6:arm64, which the host's
# ld.so.cache would otherwise pick, and a loader and libc from different
# builds corrupt glibc's thread-stack list (the first pthread_create spins
# forever).
set(SLED_QEMU_OPTIONS -cpu max -L /usr/${SLED_CROSS_TRIPLE}
    -E LD_LIBRARY_PATH=/usr/${SLED_CROSS_TRIPLE}/lib)
set(CMAKE_CROSSCOMPILING_EMULATOR qemu-aarch64 ${SLED_QEMU_OPTIONS})
