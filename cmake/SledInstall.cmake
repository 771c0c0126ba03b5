# Install rules and the exported CMake package for libsled.
#
# Owns: what `cmake --install` puts under the prefix — the public headers,
# libsled.so and libsled.a, sled.pc, and the CMake package (sledConfig.cmake,
# its version file, sledTargets*.cmake and SledInstrument.cmake) so that
# another project can write
#
#   find_package(sled REQUIRED)
#   target_link_libraries(app PRIVATE sled::sled)   # or sled::sled_static
#   sled_instrument(app)
#
# Must not: install tests, benchmarks or examples, or change how anything is
# built (target properties belong to src/CMakeLists.txt).

include(CMakePackageConfigHelpers)

# Off by default when sled is a subproject (add_subdirectory): the parent
# decides what it installs.
if(CMAKE_SOURCE_DIR STREQUAL PROJECT_SOURCE_DIR)
  set(_sled_install_default ON)
else()
  set(_sled_install_default OFF)
endif()
option(SLED_INSTALL "Generate the install rules of sled" ${_sled_install_default})
unset(_sled_install_default)

if(NOT SLED_INSTALL)
  return()
endif()

set(SLED_INSTALL_CMAKEDIR "${CMAKE_INSTALL_LIBDIR}/cmake/sled"
    CACHE STRING "Where the CMake package of sled is installed (relative to the prefix)")
mark_as_advanced(SLED_INSTALL_CMAKEDIR)

# ---- public headers --------------------------------------------------------
install(DIRECTORY "${PROJECT_SOURCE_DIR}/include/sled"
  DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}"
  COMPONENT sled_development
  FILES_MATCHING PATTERN "*.h" PATTERN "*.hpp")

# ---- the libraries ---------------------------------------------------------
install(TARGETS sled sled_static
  EXPORT sledTargets
  LIBRARY DESTINATION "${CMAKE_INSTALL_LIBDIR}"
    COMPONENT sled_runtime
    NAMELINK_COMPONENT sled_development
  ARCHIVE DESTINATION "${CMAKE_INSTALL_LIBDIR}" COMPONENT sled_development
  RUNTIME DESTINATION "${CMAKE_INSTALL_BINDIR}" COMPONENT sled_runtime)
# (The include directory reaches the exported targets through their
# $<INSTALL_INTERFACE:...> include directories, set in src/CMakeLists.txt.)

# ---- CMake package ---------------------------------------------------------
install(EXPORT sledTargets
  NAMESPACE sled::
  FILE sledTargets.cmake
  DESTINATION "${SLED_INSTALL_CMAKEDIR}"
  COMPONENT sled_development)

# libsled is C++ inside (with a C ABI): linking libsled.a into a program
# whose link step is C only needs the C++ runtime and libm (which the C++
# driver would add) named explicitly. sledConfig.cmake adds them to
# sled::sled_static, sled.pc to Libs.private.
if(CMAKE_CXX_FLAGS MATCHES "-stdlib=libc\\+\\+")
  set(SLED_CXX_RUNTIME_LIBS c++ m)
else()
  set(SLED_CXX_RUNTIME_LIBS stdc++ m)
endif()
list(TRANSFORM SLED_CXX_RUNTIME_LIBS PREPEND "-l" OUTPUT_VARIABLE SLED_PC_CXX_RUNTIME)
list(JOIN SLED_PC_CXX_RUNTIME " " SLED_PC_CXX_RUNTIME)

configure_package_config_file(
  "${PROJECT_SOURCE_DIR}/cmake/sledConfig.cmake.in"
  "${PROJECT_BINARY_DIR}/sledConfig.cmake"
  INSTALL_DESTINATION "${SLED_INSTALL_CMAKEDIR}")
# 0.x: a minor version may break the API, so only the same minor is accepted.
write_basic_package_version_file(
  "${PROJECT_BINARY_DIR}/sledConfigVersion.cmake"
  VERSION "${PROJECT_VERSION}"
  COMPATIBILITY SameMinorVersion)
install(FILES
  "${PROJECT_BINARY_DIR}/sledConfig.cmake"
  "${PROJECT_BINARY_DIR}/sledConfigVersion.cmake"
  "${PROJECT_SOURCE_DIR}/cmake/SledInstrument.cmake"
  DESTINATION "${SLED_INSTALL_CMAKEDIR}"
  COMPONENT sled_development)

# ---- pkg-config ------------------------------------------------------------
# The prefix is only known for sure at install time (`cmake --install build
# --prefix /somewhere` overrides CMAKE_INSTALL_PREFIX), so sled.pc is
# configured in two steps: now everything but the prefix, which stays as the
# placeholder @SLED_PC_PREFIX@, then the prefix when the install runs.
if(IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}")
  set(SLED_PC_LIBDIR "${CMAKE_INSTALL_LIBDIR}")
else()
  set(SLED_PC_LIBDIR "\${prefix}/${CMAKE_INSTALL_LIBDIR}")
endif()
if(IS_ABSOLUTE "${CMAKE_INSTALL_INCLUDEDIR}")
  set(SLED_PC_INCLUDEDIR "${CMAKE_INSTALL_INCLUDEDIR}")
else()
  set(SLED_PC_INCLUDEDIR "\${prefix}/${CMAKE_INSTALL_INCLUDEDIR}")
endif()
set(SLED_PC_PREFIX "@SLED_PC_PREFIX@")
configure_file("${PROJECT_SOURCE_DIR}/cmake/sled.pc.in"
               "${PROJECT_BINARY_DIR}/sled.pc.stage1" @ONLY)
unset(SLED_PC_PREFIX)
install(CODE "
  set(SLED_PC_PREFIX \"\${CMAKE_INSTALL_PREFIX}\")
  configure_file(\"${PROJECT_BINARY_DIR}/sled.pc.stage1\"
                 \"${PROJECT_BINARY_DIR}/sled.pc\" @ONLY)
" COMPONENT sled_development)
install(FILES "${PROJECT_BINARY_DIR}/sled.pc"
  DESTINATION "${CMAKE_INSTALL_LIBDIR}/pkgconfig"
  COMPONENT sled_development)
