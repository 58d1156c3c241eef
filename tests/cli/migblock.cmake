# A migration that catches threads in every kind of wait (tests/migblock).
om_add_enclave(t_blocked SOURCES ${PROJECT_SOURCE_DIR}/tests/migblock/t_blocked.c
               OUTDIR ${CMAKE_BINARY_DIR}/tests/migblock)
add_test(NAME mig.blocked_threads
         COMMAND ${PROJECT_SOURCE_DIR}/tests/migblock/blocked_test.sh $<TARGET_FILE:optmig>
                 ${CMAKE_BINARY_DIR}/tests/migblock/t_blocked)
set_tests_properties(mig.blocked_threads PROPERTIES TIMEOUT 120 LABELS mig)
