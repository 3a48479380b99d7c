#pragma once
// The two roots of everything glia throws (DESIGN §7, STYLE §4.5):
//   error           the user can fix it: a config, a parameter, a file, a path;
//   internal_error  a bug in glia, never the user's fault.
// An expected way for a run to end (completed, interrupted) is a value, not an exception.

#include <stdexcept>
#include <string>

namespace glia {

struct error: std::runtime_error {
    using std::runtime_error::runtime_error;
};

// A user error located in a config file: what() reads "file:line:col: message".
struct config_error: error {
    config_error(const std::string& file, int line, int column, const std::string& message) :
        error(file + ":" + std::to_string(line) + ":" + std::to_string(column) + ": " + message),
        file_(file), line_(line), column_(column), message_(message) {}

    const std::string& file() const { return file_; }
    int line() const { return line_; }
    int column() const { return column_; }
    const std::string& message() const { return message_; }

private:
    std::string file_;
    int line_;
    int column_;
    std::string message_;
};

struct internal_error: std::logic_error {
    using std::logic_error::logic_error;
};

}  // namespace glia
