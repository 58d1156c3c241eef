# Workload suite (workloads/): each compute workload runs as an enclave under
# `optmig run` and natively; their stdout (digest included) must be identical,
# -G must report the app's pause clock, and the digest must not depend on -t
# (compare.sh). kvserver runs under kvload, which must see no lost write
# (kv_test.sh enclave); kvload itself must catch lost writes (kv_test.sh loss).
set(OM_WLT ${CMAKE_CURRENT_LIST_DIR})

# om_wtest(NAME ARGS...): enclave vs native for workload NAME with ARGS
function(om_wtest name)
  add_test(NAME workload.${name}
    COMMAND bash ${OM_WLT}/compare.sh $<TARGET_FILE:optmig> ${OM_WORKLOADDIR}/${name}
            $<TARGET_FILE:wl_${name}_native> 1G ${ARGN})
  set_tests_properties(workload.${name} PROPERTIES TIMEOUT 120 LABELS workload)
endfunction()

om_wtest(bfs -s 16M -t 2 -i 3 -P 4)
om_wtest(btree -s 8M -t 2 -i 2 -P 16)
om_wtest(hashjoin -s 16M -t 2 -i 2 -P 8)
om_wtest(pagerank -s 16M -t 2 -i 8 -P 2)
om_wtest(xsbench -s 16M -t 2 -l 40000 -P 0)

add_test(NAME workload.kvserver
  COMMAND bash ${OM_WLT}/kv_test.sh enclave $<TARGET_FILE:optmig> ${OM_WORKLOADDIR}/kvserver $<TARGET_FILE:kvload>)
add_test(NAME workload.kvload_detects_loss
  COMMAND bash ${OM_WLT}/kv_test.sh loss $<TARGET_FILE:wl_kvserver_native> $<TARGET_FILE:kvload>)
set_tests_properties(workload.kvserver workload.kvload_detects_loss PROPERTIES TIMEOUT 60 LABELS workload)
# The KV throughput timeline (bench/kv): kvload's time base and SIGINT report,
# and the plot's empty buckets where a native server was stopped (77: no gnuplot).
add_test(NAME workload.kv.timeline
  COMMAND bash ${CMAKE_SOURCE_DIR}/bench/kv/test.sh $<TARGET_FILE:wl_kvserver_native> $<TARGET_FILE:kvload>)
set_tests_properties(workload.kv.timeline PROPERTIES TIMEOUT 60 LABELS workload SKIP_RETURN_CODE 77)

# Transparency across a live migration (migrate.sh, label workload-migrate):
# each compute workload is migrated at a random moment after its first step line
# to `optmig listen --once` on loopback; source + destination stdout must equal
# the unmigrated run's, byte for byte. workload.migrate.detects_mismatch checks
# the check (a reference with an altered digest must be caught).
foreach(wl bfs btree hashjoin pagerank xsbench)
  foreach(strategy stop-and-copy precopy postcopy hybrid)
    add_test(NAME workload.migrate.${wl}.${strategy}
      COMMAND bash ${OM_WLT}/migrate.sh $<TARGET_FILE:optmig> ${OM_WORKLOADDIR}
              $<TARGET_FILE:om_relay> ${wl} ${strategy} auto)
    set_tests_properties(workload.migrate.${wl}.${strategy} PROPERTIES TIMEOUT 240 LABELS workload-migrate)
  endforeach()
endforeach()
add_test(NAME workload.migrate.detects_mismatch
  COMMAND bash ${OM_WLT}/migrate.sh $<TARGET_FILE:optmig> ${OM_WORKLOADDIR}
          $<TARGET_FILE:om_relay> hashjoin precopy auto)
set_tests_properties(workload.migrate.detects_mismatch PROPERTIES TIMEOUT 240
  LABELS workload-migrate ENVIRONMENT WLMIG_EXPECT_MISMATCH=1)

# The KV server enclave under kvload across a live migration (kv_migrate.sh,
# label workload-migrate): kvload must PASS (every acknowledged write is in the
# destination's DUMP); prints the longest client stall and a throughput timeline.
# workload.kv.migrate.closed-conn: the same after one client connection was
# opened and closed (its server thread ended) before the migration.
foreach(strategy stop-and-copy precopy postcopy hybrid)
  add_test(NAME workload.kv.migrate.${strategy}
    COMMAND bash ${OM_WLT}/kv_migrate.sh $<TARGET_FILE:optmig> ${OM_WORKLOADDIR} $<TARGET_FILE:om_relay> ${strategy} auto)
  set_tests_properties(workload.kv.migrate.${strategy} PROPERTIES TIMEOUT 240 LABELS workload-migrate)
endforeach()
add_test(NAME workload.kv.migrate.closed-conn
  COMMAND bash ${OM_WLT}/kv_migrate.sh $<TARGET_FILE:optmig> ${OM_WORKLOADDIR} $<TARGET_FILE:om_relay> hybrid auto)
set_tests_properties(workload.kv.migrate.closed-conn PROPERTIES TIMEOUT 240 LABELS workload-migrate
  ENVIRONMENT KV_CLOSED_CONN=1)
