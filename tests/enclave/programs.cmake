# Enclave test programs and sample apps, run under `optmig run` by
# run_enclave_test.sh (exit status, expected/rejected stdout lines, timeout,
# determinism across two runs). Any stdout line starting with "FAIL:" fails a test.
# The digests below were computed by native builds (musl-gcc, gcc, clang-14 with
# glibc and with musl all agree): an enclave run must print exactly the same.

set(OM_ETEST_OUT ${CMAKE_BINARY_DIR}/tests/enclave)
set(OM_ETEST_RUN ${CMAKE_CURRENT_LIST_DIR}/run_enclave_test.sh)
set(OM_ETEST_OPTMIG ${CMAKE_BINARY_DIR}/bin/optmig)

foreach(prog t_pthread t_errno t_alloc t_files t_sockets t_time t_syscall_raw t_exit)
  om_add_enclave(${prog} SOURCES ${CMAKE_CURRENT_LIST_DIR}/${prog}.c OUTDIR ${OM_ETEST_OUT})
endforeach()

# om_etest(NAME IMAGE [OPTS script options...] [ARGS program arguments...])
function(om_etest name image)
  cmake_parse_arguments(T "" "" "OPTS;ARGS" ${ARGN})
  set(cmd ${OM_ETEST_RUN} ${T_OPTS} ${OM_ETEST_OPTMIG} ${image})
  if(T_ARGS)
    list(APPEND cmd -- ${T_ARGS})
  endif()
  add_test(NAME enclave.${name} COMMAND ${cmd})
  set_tests_properties(enclave.${name} PROPERTIES TIMEOUT 300 LABELS enclave)
endfunction()

set(ET ${OM_ETEST_OUT})
set(ES ${OM_SAMPLEDIR})

# ---- test programs ----
om_etest(pthread ${ET}/t_pthread OPTS --expect "^ok: 32 threads at once" --expect "^t_pthread: PASS$")
om_etest(errno ${ET}/t_errno OPTS --expect "^ok: errno is per thread" --expect "^t_errno: PASS$")
om_etest(alloc ${ET}/t_alloc OPTS --heap 2G --expect "MiB in total$" --expect "^t_alloc: PASS$")
om_etest(files ${ET}/t_files OPTS --expect "^ok: 8 MiB write and read back$" --expect "^t_files: PASS$"
         ARGS @TMPDIR@)
om_etest(sockets ${ET}/t_sockets OPTS --expect "^ok: TCP 127.0.0.1 echo of 1 MiB" --expect "^ok: UDP "
         --expect "^t_sockets: PASS$")
om_etest(time ${ET}/t_time OPTS --expect "^t_time: PASS$")
om_etest(syscall_raw ${ET}/t_syscall_raw OPTS --expect "^t_syscall_raw: raw write ok$"
         --expect "^ok: raw fork refused with -ENOSYS$" --expect "^t_syscall_raw: PASS$")
om_etest(exit_status ${ET}/t_exit OPTS --status 42 --expect "^t_exit: exit[(]42[)]$"
         --expect "^t_exit: atexit ran$" ARGS 42)
om_etest(exit_return ${ET}/t_exit OPTS --status 3 --expect "^t_exit: atexit ran$" ARGS return 3)
om_etest(exit_thread ${ET}/t_exit OPTS --status 7 --expect "^t_exit: thread calls exit[(]7[)]$"
         --expect "^t_exit: atexit ran$" ARGS thread 7)
om_etest(exit_underscore ${ET}/t_exit OPTS --status 5 --expect "^t_exit: _exit[(]5[)]$"
         --reject "atexit ran" ARGS _exit 5)
om_etest(exit_mainthread ${ET}/t_exit OPTS --status 0 --expect "^t_exit: last thread done$"
         --expect "^t_exit: atexit ran$" ARGS mainexit)

# ---- samples ----
om_etest(hello ${ES}/hello OPTS --expect "^Hello from an optmig enclave!$" --expect "^argc: 3$"
         --expect "^argv.1.: one$" --expect "^argv.2.: two words$" ARGS one "two words")
om_etest(memstress_verify ${ES}/memstress OPTS --heap 2G --expect "^memstress: iter 200$"
         --expect "^memstress: verify ok$" --expect "^memstress: max_gap_ms [0-9]+[.][0-9]{3}$"
         --expect "^memstress: digest [0-9a-f]{16}$"
         ARGS -s 64M -t 2 -i 200 -p hot -v 50 -P 50)
om_etest(memstress_determinism ${ES}/memstress OPTS --heap 2G --twice "^memstress: digest "
         ARGS -s 64M -t 2 -i 200 -q)
om_etest(memstress_digest ${ES}/memstress OPTS --heap 2G --expect "^memstress: digest 3c439db48749962c$"
         ARGS -s 64M -t 2 -i 200 -q)
om_etest(memstress_seq4 ${ES}/memstress OPTS --heap 2G --expect "^memstress: digest a9ad4fe25f019b55$"
         ARGS -s 32M -t 4 -i 100 -p seq -v 25 -q)
om_etest(memstress_timed ${ES}/memstress OPTS --heap 2G --expect "^memstress: verify ok$"
         --expect "^memstress: time mode [(]-d[)]: the digest is not deterministic$"
         --expect "^memstress: digest [0-9a-f]{16}$" ARGS -s 32M -t 2 -d 1 -r 200000)
# the verifier itself: a stale slot must be caught
om_etest(memstress_detects_stale ${ES}/memstress OPTS --status 1
         --expect "^memstress: verify FAILED at object 7$" ARGS -s 16M -i 50 -C 7 -q)
om_etest(ptrchase ${ES}/ptrchase OPTS --expect "^ptrchase: check ok$"
         --expect "^ptrchase: digest f0b3f96b3a59b1f6$" ARGS -t 2 -n 20000 -i 50000)
om_etest(ptrchase_determinism ${ES}/ptrchase OPTS --twice "^ptrchase: (check|digest) "
         --expect "^ptrchase: digest d85cb08534a5188d$" ARGS -t 3 -n 20000 -i 30000 -q)

unset(ET)
unset(ES)
