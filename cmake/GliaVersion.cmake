# Generates glia/version_info.hpp with the project version and the git commit of the source tree.
find_package(Git QUIET)
set(GLIA_GIT_HASH "unknown")
if(GIT_FOUND AND EXISTS ${PROJECT_SOURCE_DIR}/.git)
    execute_process(COMMAND ${GIT_EXECUTABLE} rev-parse --short=12 HEAD
                    WORKING_DIRECTORY ${PROJECT_SOURCE_DIR}
                    OUTPUT_VARIABLE GLIA_GIT_HASH OUTPUT_STRIP_TRAILING_WHITESPACE
                    ERROR_QUIET)
    if(NOT GLIA_GIT_HASH)
        set(GLIA_GIT_HASH "unknown")
    endif()
endif()
configure_file(${PROJECT_SOURCE_DIR}/cmake/version_info.hpp.in
               ${PROJECT_BINARY_DIR}/generated/glia/version_info.hpp @ONLY)
