# om_heap (src/trt/heap.c) built natively against glibc, outside the enclave
# flags, so it can run under the host sanitizers (OM_SANITIZE).
add_executable(test_heap ${CMAKE_CURRENT_LIST_DIR}/test_heap.c ${PROJECT_SOURCE_DIR}/src/trt/heap.c)
target_include_directories(test_heap PRIVATE ${PROJECT_SOURCE_DIR}/include ${PROJECT_SOURCE_DIR}/src/trt)
find_package(Threads REQUIRED)
target_link_libraries(test_heap PRIVATE Threads::Threads m)
add_test(NAME unit.heap COMMAND test_heap)
set_tests_properties(unit.heap PROPERTIES TIMEOUT 120)
