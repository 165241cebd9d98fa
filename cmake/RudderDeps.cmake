# Every dependency is a Debian 12 package (scripts/setup.sh installs them) or, for the CUDA
# build, a PyTorch 2.x libtorch found through CMAKE_PREFIX_PATH / Torch_DIR.

find_package(Torch REQUIRED)
find_package(nlohmann_json 3.10 REQUIRED)
find_package(SQLite3 REQUIRED)
find_package(CLI11 REQUIRED)
# PCRE2 and utf8proc through pkg-config where it exists; a GPU box may lack pkg-config, and then
# the library and header are looked up directly (CMAKE_PREFIX_PATH: e.g. Debian packages unpacked
# with dpkg -x, tools/gpu/deps.sh).  Either way the targets are PkgConfig::PCRE2 / ::UTF8PROC.
find_package(PkgConfig QUIET)
function(rudder_c_library name pcname header lib)
  if(PkgConfig_FOUND)
    pkg_check_modules(${name} QUIET IMPORTED_TARGET GLOBAL ${pcname})
  endif()
  if(NOT TARGET PkgConfig::${name})
    find_path(${name}_INCLUDE_DIR ${header})
    find_library(${name}_LIBRARY ${lib})
    if(NOT ${name}_INCLUDE_DIR OR NOT ${name}_LIBRARY)
      message(FATAL_ERROR "Rudder: ${pcname} not found (${header}, lib${lib}): apt-get install ${ARGN}, "
                          "or add its prefix to CMAKE_PREFIX_PATH")
    endif()
    add_library(PkgConfig::${name} INTERFACE IMPORTED GLOBAL)
    target_include_directories(PkgConfig::${name} INTERFACE ${${name}_INCLUDE_DIR})
    target_link_libraries(PkgConfig::${name} INTERFACE ${${name}_LIBRARY})
  endif()
  get_target_property(_inc PkgConfig::${name} INTERFACE_INCLUDE_DIRECTORIES)
  message(STATUS "Rudder: ${pcname}: ${_inc}")
endfunction()
rudder_c_library(PCRE2 libpcre2-8 pcre2.h pcre2-8 libpcre2-dev)
rudder_c_library(UTF8PROC libutf8proc utf8proc.h utf8proc libutf8proc-dev)
# cpp-httplib (Debian's build, with OpenSSL): the remote backends' client and `rudder-cli serve`.
# Optional so a GPU box with only PyTorch still builds (server URLs are then refused).
set(HTTPLIB_FOUND OFF)
if(PkgConfig_FOUND)
  pkg_check_modules(HTTPLIB IMPORTED_TARGET cpp-httplib)
endif()
set(RUDDER_HAVE_HTTPLIB ${HTTPLIB_FOUND})
if(NOT RUDDER_HAVE_HTTPLIB)
  message(STATUS "Rudder: cpp-httplib not found - no remote models, no `rudder-cli serve` (apt-get install libcpp-httplib-dev)")
endif()
find_package(Threads REQUIRED)
# GiNaC (C++ computer algebra): the grader's symbolic equivalence (engine/grading/GRADING.md).
# Optional so a GPU box without it still builds; answers are then compared by value and as
# normalised strings only, and `rudder-cli grade` says so.
set(RUDDER_HAVE_GINAC OFF)
if(PkgConfig_FOUND)
  pkg_check_modules(GINAC QUIET IMPORTED_TARGET GLOBAL ginac)
endif()
if(TARGET PkgConfig::GINAC)
  add_library(rudder_ginac INTERFACE IMPORTED GLOBAL)
  target_link_libraries(rudder_ginac INTERFACE PkgConfig::GINAC)
  set(RUDDER_HAVE_GINAC ON)
else()
  find_path(GINAC_INCLUDE_DIR ginac/ginac.h)
  find_library(GINAC_LIBRARY ginac)
  find_library(CLN_LIBRARY cln)
  if(GINAC_INCLUDE_DIR AND GINAC_LIBRARY AND CLN_LIBRARY)
    add_library(rudder_ginac INTERFACE IMPORTED GLOBAL)
    target_include_directories(rudder_ginac INTERFACE ${GINAC_INCLUDE_DIR})
    target_link_libraries(rudder_ginac INTERFACE ${GINAC_LIBRARY} ${CLN_LIBRARY})
    set(RUDDER_HAVE_GINAC ON)
  endif()
endif()
if(RUDDER_HAVE_GINAC)
  message(STATUS "Rudder: GiNaC found (symbolic answer equivalence)")
else()
  message(STATUS "Rudder: GiNaC not found - the grader compares answers by value and as strings only (apt-get install libginac-dev)")
endif()

message(STATUS "Rudder: libtorch ${Torch_VERSION}  (TORCH_CXX_FLAGS='${TORCH_CXX_FLAGS}')")
# ATen's headers require C++20 from PyTorch 2.13 on (#error otherwise).
if(Torch_VERSION VERSION_GREATER_EQUAL 2.13 AND CMAKE_CXX_STANDARD LESS 20)
  set(CMAKE_CXX_STANDARD 20)
  message(STATUS "Rudder: libtorch ${Torch_VERSION} needs C++20: building as C++20")
endif()

# Torch's exported flags carry the C++ ABI choice; everything we build must agree with it.
if(TORCH_CXX_FLAGS)
  separate_arguments(_rudder_torch_flags UNIX_COMMAND "${TORCH_CXX_FLAGS}")
  add_compile_options(${_rudder_torch_flags})
endif()

if(RUDDER_CUDA)
  add_compile_definitions(RUDDER_WITH_CUDA=1)
  # Nothing of ours calls into libtorch_cuda directly; its CUDA kernels register themselves when it
  # loads.  Linkers that default to --as-needed (Ubuntu's) would drop it, and torch would then
  # report no CUDA device at all.
  add_link_options(LINKER:--no-as-needed)
endif()

set(RUDDER_HAVE_QTTEST OFF)
if(RUDDER_GUI)
  find_package(Qt6 REQUIRED COMPONENTS Core Gui Widgets PrintSupport Svg Test)
  find_package(QCustomPlotQt6 REQUIRED)
  set(RUDDER_HAVE_QTTEST ON)
elseif(RUDDER_TESTS)
  # GPU servers usually have no Qt: the tests are then skipped, the build still succeeds.
  find_package(Qt6 QUIET COMPONENTS Core Test)
  if(Qt6Test_FOUND)
    set(RUDDER_HAVE_QTTEST ON)
  endif()
endif()

# Heavy torch TUs: never more than two at once on a 2-core machine (~1.2 GB each).
set(RUDDER_TORCH_JOBS 2 CACHE STRING "Torch translation units compiled at once (~1.2 GB each; raise it on big machines)")
set_property(GLOBAL APPEND PROPERTY JOB_POOLS torch_pool=${RUDDER_TORCH_JOBS})

set(RUDDER_RESOURCES_DIR "${CMAKE_CURRENT_SOURCE_DIR}/resources")
