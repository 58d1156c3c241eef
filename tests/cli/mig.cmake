# Live-migration tests (tests/mig/*.sh, label "mig"): transparency of a
# migration at a random moment (loopback and two network namespaces), and the
# must-reject cases, fed through a fault-injecting relay (tests/tools/relay.c).
add_executable(om_relay ${PROJECT_SOURCE_DIR}/tests/tools/relay.c)
set_target_properties(om_relay PROPERTIES OUTPUT_NAME relay RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests/tools)

set(OM_MIG_DIR ${PROJECT_SOURCE_DIR}/tests/mig)
function(om_mig_test name timeout script)
  add_test(NAME mig.${name}
    COMMAND bash ${OM_MIG_DIR}/${script} $<TARGET_FILE:optmig> ${OM_SAMPLEDIR} $<TARGET_FILE:om_relay> ${ARGN})
  set_tests_properties(mig.${name} PROPERTIES LABELS mig TIMEOUT ${timeout})
endfunction()

om_mig_test(transparency.memstress 240 transparency.sh memstress)
om_mig_test(transparency.ptrchase 240 transparency.sh ptrchase)
om_mig_test(transparency.1gib 300 transparency.sh 1gib)
foreach(strategy precopy postcopy hybrid)
  foreach(tracker compiler kernel)
    foreach(app memstress ptrchase)
      om_mig_test(live.${strategy}.${tracker}.${app} 600 transparency.sh live ${strategy} ${tracker} ${app})
      set_tests_properties(mig.live.${strategy}.${tracker}.${app} PROPERTIES LABELS "mig;matrix")
    endforeach()
  endforeach()
endforeach()
om_mig_test(live.nonconverge.kernel 300 transparency.sh nonconverge kernel)
om_mig_test(live.nonconverge.compiler 300 transparency.sh nonconverge compiler)
# Failures before the switchover of the live strategies leave the source running.
foreach(c cut flip replay drop)
  foreach(strategy precopy hybrid)
    om_mig_test(reject.${c}.${strategy} 150 reject.sh ${c})
    set_tests_properties(mig.reject.${c}.${strategy} PROPERTIES ENVIRONMENT MIG_STRATEGY=${strategy} LABELS "mig;matrix")
  endforeach()
endforeach()
foreach(strategy postcopy hybrid)
  foreach(tracker compiler kernel)
    om_mig_test(${strategy}.cut-resume.${tracker} 240 reject.sh cut-resume)
    set_tests_properties(mig.${strategy}.cut-resume.${tracker} PROPERTIES
      ENVIRONMENT "MIG_STRATEGY=${strategy};MIG_TRACKER=${tracker}")
  endforeach()
endforeach()
om_mig_test(netns 180 netns.sh)
set_tests_properties(mig.netns PROPERTIES RUN_SERIAL TRUE SKIP_RETURN_CODE 77)
foreach(c flip replay drop truncate malformed-hello malformed-record measurement
          platform-key-dest platform-key-src cut second-destination)
  om_mig_test(reject.${c} 150 reject.sh ${c})
endforeach()
om_mig_test(reject.dest-killed 180 reject.sh dest-killed)
