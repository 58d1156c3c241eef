# The compiler tracker inside an enclave (runtime side of issue 4): images
# built by omcc with the pass, run under optmig run. Included by
# tests/pass/pass.cmake.
om_add_enclave(t_cc_dirty SOURCES ${CMAKE_CURRENT_LIST_DIR}/t_cc_dirty.c
               OUTDIR ${CMAKE_BINARY_DIR}/tests/cctrack)
add_test(NAME cctrack.dirty
  COMMAND ${CMAKE_SOURCE_DIR}/tests/enclave/run_enclave_test.sh --expect "^t_cc_dirty: PASS$"
          ${CMAKE_BINARY_DIR}/bin/optmig ${CMAKE_BINARY_DIR}/tests/cctrack/t_cc_dirty)
set_tests_properties(cctrack.dirty PROPERTIES TIMEOUT 120 LABELS enclave)
