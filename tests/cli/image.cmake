# Image parser tests. image.setup builds a valid enclave image with omcc and a
# corrupted variant of it per mkbadimg variant; image.parse checks that each is
# rejected with the right message, that the valid one is accepted, and that
# its measurement is deterministic and follows the documented encoding.
add_executable(mkbadimg ${PROJECT_SOURCE_DIR}/tests/tools/mkbadimg.c)
target_include_directories(mkbadimg PRIVATE ${PROJECT_SOURCE_DIR}/src/image ${PROJECT_SOURCE_DIR}/include)
add_executable(test_image ${PROJECT_SOURCE_DIR}/tests/tools/test_image.c)
target_link_libraries(test_image PRIVATE omimage)
set_target_properties(mkbadimg test_image PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests/tools)
add_dependencies(test_image omcc omrt mkbadimg)

set(OM_IMAGE_TESTDIR ${CMAKE_BINARY_DIR}/tests/image)
add_test(NAME image.setup
  COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/image_setup.sh $<TARGET_FILE:omcc> $<TARGET_FILE:mkbadimg>
          ${OM_IMAGE_TESTDIR} ${CMAKE_C_COMPILER} ${OM_MUSL_INC} ${OM_MUSL_LIB})
set_tests_properties(image.setup PROPERTIES FIXTURES_SETUP om_images
  REQUIRED_FILES "$<TARGET_FILE:omcc>;$<TARGET_FILE:omrt>;$<TARGET_FILE:mkbadimg>")
add_test(NAME image.parse COMMAND test_image ${OM_IMAGE_TESTDIR})
set_tests_properties(image.parse PROPERTIES FIXTURES_REQUIRED om_images)

option(OM_FUZZ "Build libFuzzer targets (clang -fsanitize=fuzzer)" OFF)
if(OM_FUZZ)
  add_subdirectory(${PROJECT_SOURCE_DIR}/fuzz/image ${CMAKE_BINARY_DIR}/fuzz/image)
  add_test(NAME fuzz.image
    COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/fuzz_image.sh $<TARGET_FILE:fuzz_image> ${OM_IMAGE_TESTDIR}
            ${CMAKE_BINARY_DIR}/fuzz/image/run 20 ${PROJECT_SOURCE_DIR}/fuzz/image/image.dict)
  set_tests_properties(fuzz.image PROPERTIES FIXTURES_REQUIRED om_images TIMEOUT 300)
endif()
