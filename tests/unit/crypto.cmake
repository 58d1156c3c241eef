# src/crypto: native unit test (unit.crypto, under the host sanitizers when
# OM_SANITIZE is set) and the same test built as an enclave image against
# libomcrypto.a (unit.crypto_enclave), which checks that the enclave variant
# links with omcc and works inside an enclave (RDRAND seeding, AES-NI).
if(TARGET omcrypto_host)
  add_executable(test_crypto ${CMAKE_CURRENT_LIST_DIR}/test_crypto.c)
  target_link_libraries(test_crypto PRIVATE omcrypto_host)
  target_compile_definitions(test_crypto PRIVATE _GNU_SOURCE)
  add_test(NAME unit.crypto COMMAND test_crypto)
  set_tests_properties(unit.crypto PROPERTIES TIMEOUT 120
                       FAIL_REGULAR_EXPRESSION "^FAIL:|\nFAIL:")

  # The enclave library may call only BearSSL, itself, mem*/strcmp, and
  # getrandom (the one system call it is allowed, as a fallback).
  string(CONCAT OM_CRYPTO_SYMCHECK
    "bad=$(\"$0\" -u \"$1\" | awk 'NF == 2 { print $2 }' | sort -u | grep -Ev "
    "'^(br_[a-z0-9_]+|om_[a-z0-9_]+|bcmp|memcmp|memcpy|memset|strcmp|getrandom|__errno_location)$'); "
    "if [ -n \"$bad\" ]; then echo \"unexpected symbols in $1:\" $bad; exit 1; fi; "
    "echo \"$1: only allowed external symbols\"")
  add_test(NAME unit.crypto_enclave_symbols
           COMMAND sh -c "${OM_CRYPTO_SYMCHECK}" ${CMAKE_NM} $<TARGET_FILE:omcrypto_enclave>)

  # omcc puts BearSSL after musl's libc.a, so BearSSL's sysrng.o (pulled in
  # by br_prng_seeder_system) would miss open/read/close unless the image
  # already uses them: name BearSSL again before libc, here, for now.
  set(OM_CRYPTO_ETEST ${CMAKE_BINARY_DIR}/tests/unit/test_crypto_enclave)
  add_custom_command(OUTPUT ${OM_CRYPTO_ETEST}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${CMAKE_BINARY_DIR}/tests/unit
    COMMAND $<TARGET_FILE:omcc> -O2 -g -DOM_ENCLAVE -D_GNU_SOURCE
            -I${PROJECT_SOURCE_DIR}/src/crypto -I${OM_BEARSSL_INCDIR}
            -o ${OM_CRYPTO_ETEST} ${CMAKE_CURRENT_LIST_DIR}/test_crypto.c
            $<TARGET_FILE:omcrypto_enclave> ${OM_BEARSSL_LIB}
    DEPENDS omcc omrt omcrypto_enclave ${CMAKE_CURRENT_LIST_DIR}/test_crypto.c
            $<TARGET_FILE:omcrypto_enclave>
    COMMENT "omcc test_crypto_enclave" VERBATIM)
  add_custom_target(enclave_test_crypto ALL DEPENDS ${OM_CRYPTO_ETEST})
  add_test(NAME unit.crypto_enclave
           COMMAND ${PROJECT_SOURCE_DIR}/tests/enclave/run_enclave_test.sh
                   --expect "^ok: AES-256-GCM known answers" --expect "^test_crypto: PASS$"
                   ${CMAKE_BINARY_DIR}/bin/optmig ${OM_CRYPTO_ETEST})
  set_tests_properties(unit.crypto_enclave PROPERTIES TIMEOUT 300 LABELS enclave)
endif()
