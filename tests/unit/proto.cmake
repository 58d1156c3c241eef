# Wire protocol codec (src/proto) built natively with the test, so it runs
# under the host sanitizers (OM_SANITIZE) whether or not src/proto is added yet.
add_executable(test_proto ${CMAKE_CURRENT_LIST_DIR}/test_proto.c
  ${PROJECT_SOURCE_DIR}/src/proto/frame.c ${PROJECT_SOURCE_DIR}/src/proto/wire.c)
target_include_directories(test_proto PRIVATE ${PROJECT_SOURCE_DIR}/include ${PROJECT_SOURCE_DIR}/src/proto)
add_test(NAME unit.proto COMMAND test_proto)
set_tests_properties(unit.proto PROPERTIES TIMEOUT 300)

# The enclave build of the codec may need nothing from a C library beyond
# memcpy/memset/memcmp: it is linked into images and parses hostile bytes there.
if(TARGET omproto_enclave)
  set(OM_PROTO_NM_CHECK [=[
nm "$1" | awk '$1 == "U" { u[$2] = 1 } NF == 3 { d[$3] = 1 }
  END { for (s in u) if (!(s in d) && s != "memcpy" && s != "memset" && s != "memcmp") {
          print "omproto needs " s; bad = 1 }
        if (!("om_frame_parse" in d)) { print "om_frame_parse missing"; bad = 1 }
        exit bad }']=])
  add_test(NAME unit.proto.freestanding COMMAND sh -c "${OM_PROTO_NM_CHECK}" sh $<TARGET_FILE:omproto_enclave>)
endif()
