# Native tests of src/tracker (included from src/tracker/CMakeLists.txt).
#   tracker.wp       dirty tracking: exact dirty sets (single, page-crossing,
#                    memset, multi-thread, kernel writes, THP, discards), a
#                    concurrent pre-copy loop that must end byte-identical, and
#                    the same with the portable scan query.
#   tracker.missing  missing-page service: blocking until install, exact
#                    content, callback order, repeated installs, zero pages,
#                    kernel accesses, discards, many threads; in blocking,
#                    busy-poll and adaptive modes.
# Both need userfaultfd (root here) with WP_ASYNC and PAGEMAP_SCAN; without
# them they print why and exit 77, which CTest reports as skipped.
foreach(t wp missing)
  add_executable(test_tracker_${t} ${CMAKE_CURRENT_LIST_DIR}/test_tracker_${t}.c)
  target_link_libraries(test_tracker_${t} PRIVATE omtracker)
  target_compile_definitions(test_tracker_${t} PRIVATE _GNU_SOURCE)
  add_test(NAME tracker.${t} COMMAND test_tracker_${t})
  set_tests_properties(tracker.${t} PROPERTIES TIMEOUT 300 SKIP_RETURN_CODE 77
                       FAIL_REGULAR_EXPRESSION "^FAIL:|\nFAIL:")
endforeach()
