# Every dependency is a Debian 12 package (scripts/setup.sh installs them) or, for the CUDA
# build, a PyTorch 2.x libtorch found through CMAKE_PREFIX_PATH / Torch_DIR.

find_package(Torch REQUIRED)
find_package(nlohmann_json 3.10 REQUIRED)
find_package(SQLite3 REQUIRED)
find_package(CLI11 REQUIRED)
find_package(PkgConfig REQUIRED)
pkg_check_modules(PCRE2 REQUIRED IMPORTED_TARGET libpcre2-8)
pkg_check_modules(UTF8PROC REQUIRED IMPORTED_TARGET libutf8proc)
# cpp-httplib (Debian's build, with OpenSSL): the remote backends' client and `rudder-cli serve`.
# Optional so a GPU box with only PyTorch still builds (server URLs are then refused).
pkg_check_modules(HTTPLIB IMPORTED_TARGET cpp-httplib)
set(RUDDER_HAVE_HTTPLIB ${HTTPLIB_FOUND})
if(NOT RUDDER_HAVE_HTTPLIB)
  message(STATUS "Rudder: cpp-httplib not found - no remote models, no `rudder-cli serve` (apt-get install libcpp-httplib-dev)")
endif()
find_package(Threads REQUIRED)

message(STATUS "Rudder: libtorch ${Torch_VERSION}  (TORCH_CXX_FLAGS='${TORCH_CXX_FLAGS}')")

# Torch's exported flags carry the C++ ABI choice; everything we build must agree with it.
if(TORCH_CXX_FLAGS)
  separate_arguments(_rudder_torch_flags UNIX_COMMAND "${TORCH_CXX_FLAGS}")
  add_compile_options(${_rudder_torch_flags})
endif()

if(RUDDER_CUDA)
  add_compile_definitions(RUDDER_WITH_CUDA=1)
endif()

set(RUDDER_HAVE_QTTEST OFF)
if(RUDDER_GUI)
  find_package(Qt6 REQUIRED COMPONENTS Core Gui Widgets PrintSupport Test)
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
