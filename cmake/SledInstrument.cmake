# sled_instrument(<target>): compile <target>'s sources with the patch-site
# layout sled expects on this architecture (DESIGN.md). Installed with sled,
# so projects using find_package(sled) get the same function.
function(sled_instrument target)
  if(CMAKE_SYSTEM_PROCESSOR MATCHES "x86_64|AMD64")
    target_compile_options(${target} PRIVATE -fpatchable-function-entry=13,8 -falign-functions=16)
  elseif(CMAKE_SYSTEM_PROCESSOR MATCHES "aarch64|arm64")
    target_compile_options(${target} PRIVATE -fpatchable-function-entry=4,2 -falign-functions=8)
  else()
    message(FATAL_ERROR "sled_instrument: unsupported architecture ${CMAKE_SYSTEM_PROCESSOR}")
  endif()
endfunction()

# The flags as a string, for code built outside CMake targets.
if(CMAKE_SYSTEM_PROCESSOR MATCHES "aarch64|arm64")
  set(SLED_INSTRUMENT_FLAGS "-fpatchable-function-entry=4,2 -falign-functions=8")
else()
  set(SLED_INSTRUMENT_FLAGS "-fpatchable-function-entry=13,8 -falign-functions=16")
endif()
