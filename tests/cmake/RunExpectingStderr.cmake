# Runs a test command and checks its exit code and its stderr, which a plain
# CTest test cannot do at once (PASS_REGULAR_EXPRESSION ignores the exit
# code). Used as `cmake -DCOMMAND=<exe;args...> [-DSTDERR_MATCHES=<regex>]
# [-DSTDERR_NOT_MATCHES=<regex>] -P RunExpectingStderr.cmake`; the test's
# ENVIRONMENT property reaches the command.
if(NOT COMMAND)
  message(FATAL_ERROR "RunExpectingStderr: COMMAND not set")
endif()
execute_process(COMMAND ${COMMAND}
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
message("${out}")
if(err)
  message("---- stderr ----\n${err}")
endif()
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "command exited with ${rc}: ${COMMAND}")
endif()
if(DEFINED STDERR_MATCHES AND NOT err MATCHES "${STDERR_MATCHES}")
  message(FATAL_ERROR "stderr does not match '${STDERR_MATCHES}'")
endif()
if(DEFINED STDERR_NOT_MATCHES AND err MATCHES "${STDERR_NOT_MATCHES}")
  message(FATAL_ERROR "stderr matches '${STDERR_NOT_MATCHES}'")
endif()
