# Writes the commit axon-bench's figures belong to into OUT at every build, touching the file only when
# the text changes (so report.cpp recompiles only then). Run with cmake -P; inputs: OUT, SOURCE_DIR,
# GIT (may be empty), COMMIT (-DAXON_COMMIT at configure time: a tree copied without .git).
set(commit "unknown")
if(COMMIT)
  set(commit "${COMMIT}")
elseif(GIT)
  execute_process(COMMAND "${GIT}" rev-parse --short HEAD WORKING_DIRECTORY "${SOURCE_DIR}"
                  OUTPUT_VARIABLE head OUTPUT_STRIP_TRAILING_WHITESPACE RESULT_VARIABLE rc ERROR_QUIET)
  if(rc EQUAL 0 AND head)
    set(commit "${head}")
    # Figures from an edited tree must not pass for the commit's own.
    execute_process(COMMAND "${GIT}" diff --quiet HEAD -- WORKING_DIRECTORY "${SOURCE_DIR}"
                    RESULT_VARIABLE dirty ERROR_QUIET)
    if(NOT dirty EQUAL 0)
      string(APPEND commit "+local-changes")
    endif()
  endif()
endif()
set(text "#define AXON_BENCH_COMMIT \"${commit}\"\n")
if(EXISTS "${OUT}")
  file(READ "${OUT}" old)
endif()
if(NOT old STREQUAL text)
  file(WRITE "${OUT}" "${text}")
endif()
