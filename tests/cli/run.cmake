# optmig run / measure from a user's side: help, bad flags, bad images (each a
# clear error and exit status 1 or 64, never a crash), exit status, signals,
# and where the enclave's memory lives.
set(OPTMIG $<TARGET_FILE:optmig>)
set(EXPECT ${CMAKE_CURRENT_LIST_DIR}/expect.sh)
set(IMG ${CMAKE_BINARY_DIR}/tests/image)

function(om_cli_test name rc regex)
  add_test(NAME cli.${name} COMMAND ${EXPECT} ${rc} ${regex} ${ARGN})
endfunction()

om_cli_test(help 0 "usage: optmig COMMAND" ${OPTMIG} --help)
om_cli_test(run-help 0 "--heap SIZE" ${OPTMIG} run --help)
om_cli_test(measure-help 0 "usage: optmig measure" ${OPTMIG} measure --help)
om_cli_test(no-command 64 "usage: optmig COMMAND" ${OPTMIG})
om_cli_test(unknown-command 64 "unknown command 'frobnicate'" ${OPTMIG} frobnicate)
om_cli_test(run-no-image 64 "no IMAGE given" ${OPTMIG} run)
om_cli_test(run-bad-flag 64 "unrecognized option" ${OPTMIG} run --bogus ${OM_SAMPLEDIR}/hello)
om_cli_test(run-bad-heap 64 "bad --heap '12Q'" ${OPTMIG} run --heap 12Q ${OM_SAMPLEDIR}/hello)
om_cli_test(run-bad-base 64 "multiple of 4 GiB" ${OPTMIG} run --base 0x1234 ${OM_SAMPLEDIR}/hello)
om_cli_test(run-bad-threads 64 "--threads must be" ${OPTMIG} run --threads 100000 ${OM_SAMPLEDIR}/hello)
om_cli_test(run-missing-image 1 "No such file" ${OPTMIG} run /nonexistent/image)
om_cli_test(run-range-too-big 1 "does not fit in user space" ${OPTMIG} run --base 0x7e0000000000 --heap 1T ${OM_SAMPLEDIR}/hello)
om_cli_test(run-hello 0 "Hello from an optmig enclave!" ${OPTMIG} run ${OM_SAMPLEDIR}/hello -- x)
om_cli_test(run-base 0 "Hello from an optmig enclave!" ${OPTMIG} run --base 0x300000000000 --heap 64M ${OM_SAMPLEDIR}/hello)
om_cli_test(measure 0 "^[0-9a-f]{64}$" ${OPTMIG} measure ${OM_SAMPLEDIR}/hello)
om_cli_test(measure-bad 1 "not an ELF file" ${OPTMIG} measure ${CMAKE_CURRENT_LIST_DIR}/expect.sh)

# Bad images through the loader (images made by image.setup).
foreach(pair "not-elf;not an ELF file" "wrong-arch;wrong architecture" "truncate-segment;truncated"
             "truncate-header;truncated" "huge;larger than the 4 GiB image limit"
             "overflow;overflows" "interp;needs a dynamic loader" "needed;depends on a host library"
             "no-note;not an optmig enclave image" "exec;not a position-independent"
             "real-glibc-static-pie;only R_X86_64_RELATIVE")
  list(GET pair 0 img)
  list(GET pair 1 re)
  om_cli_test(run-bad-image-${img} 1 "${re}" ${OPTMIG} run ${IMG}/${img}.img)
  set_tests_properties(cli.run-bad-image-${img} PROPERTIES FIXTURES_REQUIRED om_images)
endforeach()

add_test(NAME cli.signals COMMAND ${CMAKE_CURRENT_LIST_DIR}/signal_test.sh ${OPTMIG} ${OM_SAMPLEDIR}/memstress)
add_test(NAME cli.maps COMMAND ${CMAKE_CURRENT_LIST_DIR}/maps_test.sh ${OPTMIG} ${OM_SAMPLEDIR}/memstress)
set_tests_properties(cli.maps PROPERTIES RUN_SERIAL TRUE TIMEOUT 120)
