# glia::warnings: the one place for compiler flags shared by every glia target.
add_library(glia_warnings INTERFACE)
add_library(glia::warnings ALIAS glia_warnings)
target_compile_options(glia_warnings INTERFACE
    -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wno-sign-conversion)
