# `sled attach`: the ptrace / dlopen / GCC-normalisation half (attach/) and
# its subcommand. The remote-call back end is per architecture; one without
# (aarch64 for now) gets remote_unsupported.cc, which refuses clearly.
find_package(PkgConfig REQUIRED)
pkg_check_modules(SLED_ATTACH_LIBELF REQUIRED IMPORTED_TARGET libelf)
set(sled_attach_dir ${CMAKE_CURRENT_LIST_DIR})
if(SLED_ARCH STREQUAL "x86_64")
  set(sled_attach_arch ${sled_attach_dir}/remote_x86_64.cc)
else()
  set(sled_attach_arch ${sled_attach_dir}/remote_unsupported.cc)
endif()
target_sources(sled_cli PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/../cmd_attach.cc
  ${sled_attach_dir}/target_process.cc
  ${sled_attach_dir}/target_elf.cc
  ${sled_attach_dir}/ptrace_stop.cc
  ${sled_attach_dir}/normalize.cc
  ${sled_attach_dir}/inject.cc
  ${sled_attach_arch})
target_include_directories(sled_cli PRIVATE ${CMAKE_CURRENT_SOURCE_DIR})
target_link_libraries(sled_cli PRIVATE PkgConfig::SLED_ATTACH_LIBELF)
