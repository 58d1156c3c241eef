# The compiler tracker inside an enclave (runtime side of issue 4): images
# built by omcc with the pass, run under optmig run. Included by
# tests/pass/pass.cmake.
foreach(t dirty access libc)
  om_add_enclave(t_cc_${t} SOURCES ${CMAKE_CURRENT_LIST_DIR}/t_cc_${t}.c
                 OUTDIR ${CMAKE_BINARY_DIR}/tests/cctrack)
  add_test(NAME cctrack.${t}
    COMMAND ${CMAKE_SOURCE_DIR}/tests/enclave/run_enclave_test.sh --expect "^t_cc_${t}: PASS$"
            ${CMAKE_BINARY_DIR}/bin/optmig ${CMAKE_BINARY_DIR}/tests/cctrack/t_cc_${t})
  set_tests_properties(cctrack.${t} PROPERTIES TIMEOUT 120 LABELS enclave)
endforeach()
# Apps calling libc the runtime cannot follow: omcc's warning, auto -> kernel,
# --tracker compiler refused.
add_test(NAME cctrack.safetynet
  COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/safetynet.sh $<TARGET_FILE:optmig> ${CMAKE_CURRENT_LIST_DIR}
          $<TARGET_FILE:om_relay> $<TARGET_FILE:omcc>)
set_tests_properties(cctrack.safetynet PROPERTIES TIMEOUT 300 LABELS "mig;enclave")
