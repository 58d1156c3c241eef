# Toolchain facts for enclave code: Debian's musl and BearSSL, clang-14's own headers.
set(OM_MUSL_INC /usr/include/x86_64-linux-musl CACHE PATH "musl headers")
set(OM_MUSL_LIB /usr/lib/x86_64-linux-musl CACHE PATH "musl crt files and libc.a")
set(OM_BEARSSL_LIB /usr/lib/x86_64-linux-gnu/libbearssl.a CACHE FILEPATH "BearSSL static library")
execute_process(COMMAND ${CMAKE_C_COMPILER} -print-resource-dir
                OUTPUT_VARIABLE OM_CLANG_RESOURCE OUTPUT_STRIP_TRAILING_WHITESPACE)
foreach(f ${OM_MUSL_INC}/stdio.h ${OM_MUSL_LIB}/rcrt1.o ${OM_MUSL_LIB}/libc.a ${OM_BEARSSL_LIB})
  if(NOT EXISTS ${f})
    message(FATAL_ERROR "missing ${f}: run 'make deps' (musl-dev, libbearssl-dev)")
  endif()
endforeach()
if(NOT CMAKE_C_COMPILER_ID STREQUAL "Clang")
  message(FATAL_ERROR "optmig builds with clang-14: configure with -DCMAKE_C_COMPILER=clang-14")
endif()

# Flags for code compiled into enclave images (the trusted runtime); never sanitized,
# since no host runtime library may be linked into an image.
set(OM_ENCLAVE_CFLAGS -nostdinc "SHELL:-isystem ${OM_MUSL_INC}" "SHELL:-isystem ${OM_CLANG_RESOURCE}/include"
    -fPIE -fno-sanitize=all -fno-stack-protector -ffunction-sections)

# om_add_enclave(NAME SOURCES src... [OUTDIR dir] [CFLAGS flags...])
# Builds an enclave image with omcc into OUTDIR (default build/samples).
function(om_add_enclave name)
  cmake_parse_arguments(E "" "OUTDIR" "SOURCES;CFLAGS" ${ARGN})
  if(NOT E_OUTDIR)
    set(E_OUTDIR ${OM_SAMPLEDIR})
  endif()
  set(out ${E_OUTDIR}/${name})
  set(srcs)
  foreach(s ${E_SOURCES})
    get_filename_component(abs ${s} ABSOLUTE)
    list(APPEND srcs ${abs})
  endforeach()
  add_custom_command(OUTPUT ${out}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${E_OUTDIR}
    COMMAND $<TARGET_FILE:omcc> -O2 -g ${E_CFLAGS} -o ${out} ${srcs}
    DEPENDS omcc omrt ${srcs}
    COMMENT "omcc ${name}" VERBATIM)
  add_custom_target(enclave_${name} ALL DEPENDS ${out})
endfunction()
