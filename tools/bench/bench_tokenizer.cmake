# Included from engine/tokenizer/CMakeLists.txt: the tokenizer benchmark executable
# (build/tools/bench/bench_tokenizer; scripts/bench-tokenizer.sh runs it).
add_executable(bench_tokenizer ${CMAKE_CURRENT_LIST_DIR}/bench_tokenizer.cpp)
target_link_libraries(bench_tokenizer PRIVATE rudder_core)
set_target_properties(bench_tokenizer PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${PROJECT_BINARY_DIR}/tools/bench)
