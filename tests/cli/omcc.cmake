# omcc command-line tests: each case of omcc_test.sh is one CTest test. They
# use the built omcc (build/bin) and trusted runtime (build/lib/optmig).
set(OM_OMCC_CASES hello default-output compile-then-link multiple-sources defines-includes
    static-library tls-lld verbose help-version cxx-refused shared-refused conflicts-refused
    dlopen-refused bad-flag compile-error missing-runtime missing-clang track-option bad-track nm-missing)
foreach(c ${OM_OMCC_CASES})
  add_test(NAME omcc.${c}
    COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/omcc_test.sh ${CMAKE_BINARY_DIR}/bin/omcc ${c}
            ${CMAKE_BINARY_DIR}/tests/omcc)
  set_tests_properties(omcc.${c} PROPERTIES
    REQUIRED_FILES "${CMAKE_BINARY_DIR}/bin/omcc;$<TARGET_FILE:omrt>")
endforeach()
