# Host userfaultfd service of the kernel tracker (src/host/ktrack.c), driven
# directly and through its OCALL entry point. Needs userfaultfd (root here)
# with WP_ASYNC and PAGEMAP_SCAN; without them it exits 77 (skipped).
add_executable(test_ktrack ${CMAKE_CURRENT_LIST_DIR}/test_ktrack.c)
target_link_libraries(test_ktrack PRIVATE omhost)
target_compile_definitions(test_ktrack PRIVATE _GNU_SOURCE)
add_test(NAME ktrack.host COMMAND test_ktrack)
set_tests_properties(ktrack.host PROPERTIES TIMEOUT 120 SKIP_RETURN_CODE 77
                     FAIL_REGULAR_EXPRESSION "^FAIL:|\nFAIL:")
