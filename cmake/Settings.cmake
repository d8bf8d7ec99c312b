# Build settings shared by every target: warnings, sanitizers, ccache.
#
# MP_DEV (default ON in a git checkout or CI) turns warnings into errors, as ccache's
# dev mode does: a warning that lands is a warning nobody reads again.

if(EXISTS "${CMAKE_SOURCE_DIR}/.git" OR DEFINED ENV{CI})
  set(_mp_dev_default ON)
else()
  set(_mp_dev_default OFF)
endif()
option(MP_DEV "Developer build: -Werror" ${_mp_dev_default})
set(MP_SANITIZE "" CACHE STRING "Comma-separated sanitizers: address,undefined,thread")

find_program(CCACHE_PROGRAM ccache)
if(CCACHE_PROGRAM AND NOT CMAKE_CXX_COMPILER_LAUNCHER)
  set(CMAKE_CXX_COMPILER_LAUNCHER "${CCACHE_PROGRAM}")
endif()

add_library(mp_warnings INTERFACE)
target_compile_options(mp_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wcast-align -Woverloaded-virtual
  -Wimplicit-fallthrough -Wno-missing-field-initializers)
if(MP_DEV)
  target_compile_options(mp_warnings INTERFACE -Werror)
endif()

add_library(mp_settings INTERFACE)
target_compile_definitions(mp_settings INTERFACE
  MP_VERSION="${PROJECT_VERSION}"
  BOOST_ASIO_NO_DEPRECATED
  RAPIDJSON_HAS_STDSTRING=1)
if(MP_SANITIZE)
  string(REPLACE "," ";" _mp_sanitizers "${MP_SANITIZE}")
  foreach(_s IN LISTS _mp_sanitizers)
    if(NOT _s MATCHES "^(address|undefined|thread)$")
      message(FATAL_ERROR "MP_SANITIZE: unknown sanitizer '${_s}' (address, undefined, thread)")
    endif()
  endforeach()
  target_compile_options(mp_settings INTERFACE -fsanitize=${MP_SANITIZE} -fno-omit-frame-pointer
                         -fno-sanitize-recover=all)
  target_link_options(mp_settings INTERFACE -fsanitize=${MP_SANITIZE})
  if("thread" IN_LIST _mp_sanitizers)
    # Asio's fences are fine under TSan; GCC 12 warns about every one of them.
    target_compile_options(mp_settings INTERFACE -Wno-tsan)
  endif()
endif()

# libFuzzer builds (`make fuzz`): clang only. Clang 16 implements C++20 concepts but does
# not announce them, and libstdc++ 12 hides std::expected unless it does.
option(MP_FUZZ "Build the libFuzzer targets in tests/fuzz (clang)" OFF)
if(MP_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "MP_FUZZ needs clang (CXX=clang++-16)")
  endif()
  target_compile_options(mp_settings INTERFACE -fsanitize=fuzzer-no-link,address,undefined
                         -U__cpp_concepts -D__cpp_concepts=202002L -Wno-builtin-macro-redefined)
  target_link_options(mp_settings INTERFACE -fsanitize=address,undefined)
endif()
