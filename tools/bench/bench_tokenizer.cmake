# Included from engine/tokenizer/CMakeLists.txt: the tokenizer benchmark executable.
add_executable(bench_tokenizer ${CMAKE_CURRENT_LIST_DIR}/bench_tokenizer.cpp)
target_link_libraries(bench_tokenizer PRIVATE rudder_core)
