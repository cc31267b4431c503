# tradebot_add_test(NAME SOURCES a.cpp ... LIBS lib ... [LABELS l ...])
# One Boost.Test executable registered with CTest. Tests read tests/data through
# TRADEBOT_TEST_DATA and built binaries through TRADEBOT_BIN_DIR.
function(tradebot_add_test name)
  cmake_parse_arguments(T "" "" "SOURCES;LIBS;LABELS" ${ARGN})
  if(TRADEBOT_SANITIZE)
    foreach(lib IN LISTS T_LIBS)
      if(lib MATCHES "^tb_" AND NOT TARGET ${lib})
        return()   # it needs a library the sanitizer build leaves out (it loads LibTorch)
      endif()
    endforeach()
  endif()
  add_executable(${name} ${T_SOURCES})
  target_link_libraries(${name} PRIVATE ${T_LIBS} Boost::unit_test_framework)
  target_compile_definitions(${name} PRIVATE
    BOOST_TEST_DYN_LINK
    TRADEBOT_TEST_DATA="${TRADEBOT_TEST_DATA}"
    TRADEBOT_SOURCE_DIR="${PROJECT_SOURCE_DIR}"
    TRADEBOT_BIN_DIR="${PROJECT_BINARY_DIR}/bin")
  add_test(NAME ${name} COMMAND ${name} --log_level=message)
  # OpenMP threads that busy-wait starve each other on a small shared machine (up to 25x slower
  # LibTorch on 2 cores); libgomp reads this at load time, so it goes in the environment.
  set(env "OMP_WAIT_POLICY=passive")
  if(TRADEBOT_SANITIZE)
    list(APPEND env "ASAN_OPTIONS=detect_leaks=1:strict_string_checks=1:check_initialization_order=1"
                    "UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1")
  endif()
  set_tests_properties(${name} PROPERTIES ENVIRONMENT "${env}")
  if(T_LABELS)
    set_tests_properties(${name} PROPERTIES LABELS "${T_LABELS}")
  endif()
endfunction()

# Adds every immediate subfolder of the current source folder that has a CMakeLists.txt
# (tests/ and bench/ hold one folder per area).
function(tradebot_add_subdirectories)
  file(GLOB entries LIST_DIRECTORIES true RELATIVE ${CMAKE_CURRENT_SOURCE_DIR} ${CMAKE_CURRENT_SOURCE_DIR}/*)
  foreach(dir IN LISTS entries)
    if(IS_DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR}/${dir} AND EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/${dir}/CMakeLists.txt)
      add_subdirectory(${dir})
    endif()
  endforeach()
endfunction()
