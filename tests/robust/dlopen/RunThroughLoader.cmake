# Runs PROGRAM through its own dynamic loader, named by its PT_INTERP
# (`ld.so PROGRAM ARGS`), prefixed by EMULATOR in a cross build, and fails
# unless it exits 0. Used as `cmake -DPROGRAM=<exe> -DREADELF=<readelf>
# [-DEMULATOR=<list>] [-DARGS=<list>] -P RunThroughLoader.cmake`.
execute_process(COMMAND ${READELF} -l ${PROGRAM} OUTPUT_VARIABLE headers RESULT_VARIABLE rc)
if(NOT rc EQUAL 0 OR NOT headers MATCHES "Requesting program interpreter: ([^]]+)]")
  message(FATAL_ERROR "RunThroughLoader: no PT_INTERP in ${PROGRAM}")
endif()
set(interp ${CMAKE_MATCH_1})
execute_process(COMMAND ${EMULATOR} ${interp} ${PROGRAM} ${ARGS}
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
message("${interp} ${PROGRAM}: ${out}${err}")
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "exited with ${rc}")
endif()
