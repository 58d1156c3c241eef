# The in-enclave memory map (src/trt/vmem.c), including file mappings filled by
# OCALLs nested inside the trusted mmap handler.
om_add_enclave(t_vmem SOURCES ${CMAKE_CURRENT_LIST_DIR}/t_vmem.c OUTDIR ${OM_ETEST_OUT})
om_etest(vmem ${OM_ETEST_OUT}/t_vmem OPTS --expect "^t_vmem: PASS$" ARGS @TMPDIR@)
