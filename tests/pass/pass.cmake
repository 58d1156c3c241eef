# Tests of the OptMigPass plugin (src/pass): FileCheck tests of the IR it
# emits (ir/*.ll, ir/*.c, run by lit.sh), and native programs built with
# clang-14 + the plugin at several -O levels and linked with rt_native.c, a
# stand-in for the runtime side of its ABI. Included from tests/CMakeLists.txt.
set(OM_PASS_TESTS ${CMAKE_CURRENT_LIST_DIR})
set(OM_PASS_PLUGIN ${OM_LIBDIR}/OptMigPass.so)
set(OM_PASS_OUT ${CMAKE_BINARY_DIR}/tests/pass)

find_program(OM_FILECHECK FileCheck HINTS /usr/lib/llvm-14/bin NO_DEFAULT_PATH)
find_program(OM_OPT14 opt-14)
if(NOT OM_FILECHECK OR NOT OM_OPT14)
  message(FATAL_ERROR "FileCheck/opt-14 not found: run 'make deps' (llvm-14-tools)")
endif()

file(GLOB OM_PASS_IR_TESTS ${OM_PASS_TESTS}/ir/*.ll ${OM_PASS_TESTS}/ir/*.c)
foreach(t ${OM_PASS_IR_TESTS})
  get_filename_component(name ${t} NAME_WE)
  add_test(NAME pass.ir.${name}
           COMMAND ${OM_PASS_TESTS}/lit.sh ${t} ${OM_PASS_PLUGIN})
  set_tests_properties(pass.ir.${name} PROPERTIES
    ENVIRONMENT "OPT=${OM_OPT14};FILECHECK=${OM_FILECHECK};CLANG=${CMAKE_C_COMPILER}"
    TIMEOUT 120)
endforeach()

# The runtime side, compiled without the plugin.
add_library(om_pass_rt STATIC ${OM_PASS_TESTS}/rt_native.c)
target_compile_options(om_pass_rt PRIVATE -O2 -fno-sanitize=all)
find_package(Threads REQUIRED)

# om_pass_program(NAME SOURCE OPT TRACK [MLLVM option...]): SOURCE built with
# clang-14 OPT and the plugin (-optmig-track=TRACK plus -mllvm options).
function(om_pass_program name src opt track)
  set(mllvm)
  foreach(o ${ARGN})
    list(APPEND mllvm "SHELL:-mllvm ${o}")
  endforeach()
  add_executable(${name} ${OM_PASS_TESTS}/${src})
  add_dependencies(${name} OptMigPass)
  target_compile_options(${name} PRIVATE ${opt} -fno-sanitize=all
    -fpass-plugin=${OM_PASS_PLUGIN}
    "SHELL:-Xclang -load -Xclang ${OM_PASS_PLUGIN}"
    "SHELL:-mllvm -optmig-track=${track}" ${mllvm})
  target_link_options(${name} PRIVATE -fno-sanitize=all)
  target_link_libraries(${name} PRIVATE om_pass_rt Threads::Threads)
  set_target_properties(${name} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${OM_PASS_OUT})
endfunction()
# Rebuild the programs when the plugin changes.
set_source_files_properties(${OM_PASS_TESTS}/t_dirty.c ${OM_PASS_TESTS}/t_access.c
  ${OM_PASS_TESTS}/t_poll.c PROPERTIES OBJECT_DEPENDS ${OM_PASS_PLUGIN})

foreach(o O0 O1 O2 O3)
  om_pass_program(pass_dirty_${o} t_dirty.c -${o} dirty)
  add_test(NAME pass.dirty.${o} COMMAND pass_dirty_${o})
endforeach()
om_pass_program(pass_dirty_both t_dirty.c -O2 dirty+access)
add_test(NAME pass.dirty.both COMMAND pass_dirty_both --with-access)
# Without the plain copies, and without any cost control.
om_pass_program(pass_dirty_nover t_dirty.c -O2 dirty+access -optmig-version=false)
add_test(NAME pass.dirty.noversion COMMAND pass_dirty_nover --with-access)
om_pass_program(pass_dirty_noopt t_dirty.c -O2 dirty -optmig-opt=false)
add_test(NAME pass.dirty.noopt COMMAND pass_dirty_noopt)

foreach(o O0 O2 O3)
  om_pass_program(pass_access_${o} t_access.c -${o} access)
  add_test(NAME pass.access.${o} COMMAND pass_access_${o})
endforeach()
om_pass_program(pass_access_both t_access.c -O2 dirty+access)
add_test(NAME pass.access.both COMMAND pass_access_both --with-dirty)
om_pass_program(pass_access_nover t_access.c -O2 dirty+access -optmig-version=false)
add_test(NAME pass.access.noversion COMMAND pass_access_nover --with-dirty)
om_pass_program(pass_access_noopt t_access.c -O2 access -optmig-opt=false)
add_test(NAME pass.access.noopt COMMAND pass_access_noopt)

foreach(o O0 O2)
  om_pass_program(pass_poll_${o} t_poll.c -${o} dirty+access)
  add_test(NAME pass.poll.${o} COMMAND pass_poll_${o})
endforeach()
# Control: without polls no request may be answered (the test can fail).
om_pass_program(pass_poll_control t_poll.c -O2 dirty+access -optmig-polls=false)
add_test(NAME pass.poll.control COMMAND pass_poll_control --no-polls)

set_tests_properties(pass.dirty.O0 pass.dirty.O1 pass.dirty.O2 pass.dirty.O3 pass.dirty.both
  pass.dirty.noversion pass.dirty.noopt pass.access.O0 pass.access.O2 pass.access.O3
  pass.access.both pass.access.noversion pass.access.noopt
  pass.poll.O0 pass.poll.O2 pass.poll.control PROPERTIES TIMEOUT 300)
include(${CMAKE_CURRENT_LIST_DIR}/../cctrack/cctrack.cmake)

# The project's enclave sources, instrumented as omcc does (plain copies on),
# must pass the IR verifier in every tracking mode.
add_test(NAME pass.verify.tree
         COMMAND ${OM_PASS_TESTS}/verify_tree.sh ${PROJECT_SOURCE_DIR} ${OM_PASS_PLUGIN})
set_tests_properties(pass.verify.tree PROPERTIES
  ENVIRONMENT "OPT=${OM_OPT14};CLANG=${CMAKE_C_COMPILER}" TIMEOUT 900)
