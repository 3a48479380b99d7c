// Checkpoint and resume of `glia run` end to end (docs/output_format.md, "Checkpoints"):
// a plastic network (Izhikevich 2006 STDP, a V_m report, weight snapshots) stopped by SIGTERM,
// SIGINT and SIGUSR1 at random moments and resumed with other thread and partition counts ends
// with a file equal, dataset by dataset and attribute by attribute, bit for bit, to that of an
// uninterrupted run (provenance apart). A second signal skips the checkpoint and leaves a
// readable file (an earlier checkpoint stays valid, even after the resumed run is killed);
// kill -9 leaves a file holding a prefix of the run that `glia inspect` calls incomplete;
// --resume refuses a missing, damaged or foreign checkpoint with a message that says why.
//
// The moments are random: a seed (printed; GLIA_TEST_SEED=... repeats it) draws each wait
// as a fraction of the reference run's measured wall time, counted from the moment the run
// under test has written "running" to its file (its signal handlers are then installed).

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <hdf5.h>

#include <glia/error.hpp>
#include <glia/rng.hpp>

#include "cli_harness.hpp"
#include "io/hdf5_reader.hpp"

namespace {

namespace fs = std::filesystem;
using glia::test::run_glia;
using testing::HasSubstr;
using clock_type = std::chrono::steady_clock;

// A scaled-down polychronization network (configs/polychronization.yaml): 500 Izhikevich
// neurons, 1..20 ms delays, STDP (izhikevich2006) on the excitatory synapses with its
// once-per-second update, spikes of both populations, V_m of 8 neurons every step, weight
// snapshots every second. About 5 Hz; 90 s simulated take about a second. No output.file:
// every run names its output with -o (the resolved config, hence /run@config, is the same).
std::string plastic_config(const std::string& extra_output = "") {
    return "simulation: {dt: 1 ms, duration: 90 s, seed: 11}\n"
           "populations:\n"
           "  exc:\n"
           "    model: izhikevich\n"
           "    size: 400\n"
           "    params: {a: 0.02, b: 0.2, c: -65 mV, d: 8}\n"
           "    initial: {V_m: -65 mV}\n"
           "  inh:\n"
           "    model: izhikevich\n"
           "    size: 100\n"
           "    params: {a: 0.1, b: 0.2, c: -65 mV, d: 2}\n"
           "    initial: {V_m: -65 mV}\n"
           "projections:\n"
           "  exc_exc: {source: exc, target: exc, rule: fixed_outdegree, outdegree: 40,"
           " allow_autapses: false, allow_multapses: false, weight: 6,"
           " delay: {uniform: {low: 0.5 ms, high: 20.5 ms}}, synapse: izhikevich2006}\n"
           "  exc_inh: {source: exc, target: inh, rule: fixed_outdegree, outdegree: 10,"
           " allow_multapses: false, weight: 6,"
           " delay: {uniform: {low: 0.5 ms, high: 20.5 ms}}, synapse: izhikevich2006}\n"
           "  inh_exc: {source: inh, target: exc, rule: fixed_outdegree, outdegree: 50,"
           " allow_multapses: false, weight: -5, delay: 1 ms}\n"
           "inputs:\n"
           "  thalamic_exc: {type: poisson_generator, target: exc, rate: 2 Hz, weight: 20}\n"
           "  thalamic_inh: {type: poisson_generator, target: inh, rate: 2 Hz, weight: 20}\n"
           "record:\n"
           "  spikes: all\n"
           "  reports:\n"
           "    vm: {population: exc, variable: V_m, neurons: {first: 8}, interval: 1 ms}\n"
           "  weights:\n"
           "    exc_exc: {interval: 1 s}\n"
           "    exc_inh: {interval: 1 s}\n" +
           (extra_output.empty() ? std::string() : "output:\n" + extra_output);
}
constexpr std::int64_t plastic_steps = 90000;

std::string slurp(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

// ---- The glia executable in the background. ----

class glia_process {
public:
    // `glia ARGS...` with stdout and stderr into `log`.
    glia_process(const std::vector<std::string>& args, const std::string& log): log_(log) {
        pid_ = fork();
        if (pid_ == 0) {
            const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
            dup2(fd, 1);
            dup2(fd, 2);
            std::vector<std::string> all{GLIA_EXECUTABLE};
            all.insert(all.end(), args.begin(), args.end());
            std::vector<char*> argv;
            for (auto& a: all) {
                argv.push_back(a.data());
            }
            argv.push_back(nullptr);
            execv(GLIA_EXECUTABLE, argv.data());
            _exit(127);
        }
    }
    glia_process(const glia_process&) = delete;
    glia_process& operator=(const glia_process&) = delete;
    ~glia_process() {
        if (pid_ > 0 && !done_) {
            kill(pid_, SIGKILL);
            waitpid(pid_, nullptr, 0);
        }
    }

    pid_t pid() const { return pid_; }
    bool running() {
        if (done_) {
            return false;
        }
        int status = 0;
        if (waitpid(pid_, &status, WNOHANG) == pid_) {
            finish(status);
        }
        return !done_;
    }
    void signal(int signo) const { kill(pid_, signo); }
    // The exit code; -N if signal N ended it; -1000 after `timeout` (then it is killed).
    int wait(double timeout = 60) {
        const auto until = clock_type::now() + std::chrono::duration<double>(timeout);
        while (running()) {
            if (clock_type::now() > until) {
                kill(pid_, SIGKILL);
                waitpid(pid_, nullptr, 0);
                done_ = true;
                code_ = -1000;
                break;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
        return code_;
    }
    std::string log() const { return slurp(log_); }

private:
    void finish(int status) {
        done_ = true;
        code_ = WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
    }

    std::string log_;
    pid_t pid_ = -1;
    bool done_ = false;
    int code_ = -1;
};

// /run@status of `out`, "" while it cannot be read (not created or not flushed yet).
std::string status_of(const std::string& out) {
    try {
        return glia::io::read_run_info(out).status;
    }
    catch (const glia::error&) {
        return "";
    }
}

// Waits until `out` says "running" (written at the start of run(), once the signal handlers
// are installed), then `delay` seconds. False if the process ended or nothing came in 60 s.
bool wait_running_then(glia_process& p, const std::string& out, double delay) {
    const auto until = clock_type::now() + std::chrono::seconds(60);
    while (status_of(out) != "running") {
        if (!p.running() || clock_type::now() > until) {
            return false;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    std::this_thread::sleep_for(std::chrono::duration<double>(delay));
    return p.running();
}

// ---- Every dataset and attribute of an HDF5 file, as bytes. ----

struct h5_handle {
    hid_t id;
    herr_t (*close)(hid_t);
    ~h5_handle() {
        if (id >= 0) {
            close(id);
        }
    }
};

// The values of a dataset or attribute: its shape, then its elements as stored in memory
// (variable-length strings as their characters, each followed by a NUL).
template <typename GetSpace, typename GetType, typename Read>
std::string value_bytes(GetSpace get_space, GetType get_type, Read read) {
    const h5_handle space{get_space(), H5Sclose};
    const h5_handle type{get_type(), H5Tclose};
    const int rank = H5Sget_simple_extent_ndims(space.id);
    std::vector<hsize_t> dims(static_cast<std::size_t>(std::max(rank, 0)));
    H5Sget_simple_extent_dims(space.id, dims.data(), nullptr);
    const auto n = static_cast<std::size_t>(H5Sget_simple_extent_npoints(space.id));
    std::string out = "shape";
    for (auto d: dims) {
        out += ' ';
        out += std::to_string(d);
    }
    out += ":";
    if (H5Tget_class(type.id) == H5T_STRING && H5Tis_variable_str(type.id) > 0) {
        const h5_handle mem{H5Tcopy(H5T_C_S1), H5Tclose};
        H5Tset_size(mem.id, H5T_VARIABLE);
        H5Tset_cset(mem.id, H5Tget_cset(type.id));
        std::vector<char*> s(n, nullptr);
        if (n > 0 && read(mem.id, s.data()) < 0) {
            return out + "(unreadable)";
        }
        for (char* c: s) {
            out += c != nullptr ? c : "(null)";
            out += '\0';
        }
        if (n > 0) {
            const h5_handle sp{get_space(), H5Sclose};
            H5Dvlen_reclaim(mem.id, sp.id, H5P_DEFAULT, s.data());
        }
        return out;
    }
    const h5_handle mem{H5Tget_native_type(type.id, H5T_DIR_ASCEND), H5Tclose};
    std::string data(n * H5Tget_size(mem.id), '\0');
    if (n > 0 && read(mem.id, data.data()) < 0) {
        return out + "(unreadable)";
    }
    return out + data;
}

herr_t add_attribute(hid_t obj, const char* name, const H5A_info_t*, void* data) {
    auto& out = *static_cast<std::pair<std::string, std::map<std::string, std::string>*>*>(data);
    const h5_handle a{H5Aopen(obj, name, H5P_DEFAULT), H5Aclose};
    (*out.second)[out.first + "@" + name] = value_bytes(
        [&] { return H5Aget_space(a.id); }, [&] { return H5Aget_type(a.id); },
        [&](hid_t mem, void* buf) { return H5Aread(a.id, mem, buf); });
    return 0;
}

void add_attributes(hid_t obj, const std::string& path, std::map<std::string, std::string>& out) {
    std::pair<std::string, std::map<std::string, std::string>*> data{path, &out};
    hsize_t idx = 0;
    H5Aiterate2(obj, H5_INDEX_NAME, H5_ITER_INC, &idx, add_attribute, &data);
}

herr_t add_object(hid_t file, const char* name, const H5L_info_t*, void* data) {
    auto& out = *static_cast<std::map<std::string, std::string>*>(data);
    const std::string path = std::string("/") + name;
    const h5_handle obj{H5Oopen(file, name, H5P_DEFAULT), H5Oclose};
    if (obj.id < 0) {
        out[path] = "(cannot open)";
        return 0;
    }
    if (H5Iget_type(obj.id) == H5I_DATASET) {
        out[path] = value_bytes(
            [&] { return H5Dget_space(obj.id); }, [&] { return H5Dget_type(obj.id); },
            [&](hid_t mem, void* buf) {
                return H5Dread(obj.id, mem, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf);
            });
    } else {
        out[path] = "(group)";
    }
    add_attributes(obj.id, path, out);
    return 0;
}

// "/path" -> value of each dataset (or "(group)"), "/path@name" -> value of each attribute.
std::map<std::string, std::string> contents(const std::string& file) {
    std::map<std::string, std::string> out;
    const h5_handle f{H5Fopen(file.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose};
    if (f.id < 0) {
        ADD_FAILURE() << "cannot open " << file;
        return out;
    }
    add_attributes(f.id, "/", out);
    H5Lvisit(f.id, H5_INDEX_NAME, H5_ITER_INC, add_object, &out);
    return out;
}

// /run attributes that say when, where and how a file was made, not what it holds.
const std::vector<std::string> provenance_keys = {"/run@started", "/run@command_line",
                                                  "/run@wall_seconds", "/run@build_seconds",
                                                  "/run@resumed_from_step",
                                                  "/run@resumed_command_line"};

bool is_provenance(const std::string& key) {
    return std::find(provenance_keys.begin(), provenance_keys.end(), key) != provenance_keys.end();
}

// Every dataset and attribute of `b` equals that of `a`, bit for bit (provenance apart).
void expect_same_file(const std::string& a, const std::string& b) {
    const auto x = contents(a);
    const auto y = contents(b);
    std::size_t compared = 0;
    for (const auto& [key, value]: x) {
        if (is_provenance(key)) {
            continue;
        }
        const auto it = y.find(key);
        if (it == y.end()) {
            ADD_FAILURE() << key << " is missing from " << b;
            continue;
        }
        EXPECT_TRUE(it->second == value)
            << key << " differs (" << value.size() << " and " << it->second.size() << " bytes)";
        ++compared;
    }
    for (const auto& [key, value]: y) {
        EXPECT_TRUE(x.count(key) > 0 || is_provenance(key)) << key << " is only in " << b;
    }
    EXPECT_GT(compared, 60u) << "too few objects compared: the files hold less than expected";
}

std::int64_t int_attribute(const std::string& file, const std::string& key) {
    const auto c = contents(file);
    const auto it = c.find(key);
    if (it == c.end()) {
        ADD_FAILURE() << "no " << key << " in " << file;
        return -1;
    }
    std::int64_t v = 0;
    std::memcpy(&v, it->second.data() + it->second.size() - sizeof v, sizeof v);
    return v;
}

double wall_seconds_of(const std::string& stats_json) {
    const std::string text = slurp(stats_json);
    const std::string key = "\"wall_seconds\": ";
    const auto at = text.find(key);
    return at == std::string::npos ? 0.0 : std::atof(text.c_str() + at + key.size());
}

// The moments of a test: drawn from a seed printed with the test (GLIA_TEST_SEED to repeat).
std::uint64_t test_seed() {
    if (const char* s = std::getenv("GLIA_TEST_SEED")) {
        return std::strtoull(s, nullptr, 10);
    }
    return static_cast<std::uint64_t>(
        std::chrono::system_clock::now().time_since_epoch().count());
}

class checkpoint_cli: public testing::Test {
protected:
    void SetUp() override {
        const auto* info = testing::UnitTest::GetInstance()->current_test_info();
        dir_ = fs::temp_directory_path() /
               ("glia_ckpt_cli_" + std::to_string(getpid()) + "_" + info->name());
        fs::remove_all(dir_);
        fs::create_directories(dir_ / "ref");
        fs::create_directories(dir_ / "run");
        seed_ = test_seed();
        std::cout << "[ seed     ] GLIA_TEST_SEED=" << seed_ << "\n";
        RecordProperty("seed", std::to_string(seed_));
    }
    void TearDown() override {
        if (!HasFailure()) {
            fs::remove_all(dir_);
        } else {
            std::cout << "[ kept     ] " << dir_.string() << "\n";
        }
    }

    std::string write(const std::string& name, const std::string& text) const {
        const fs::path p = dir_ / name;
        std::ofstream(p) << text;
        return p.string();
    }
    std::string path(const std::string& name) const { return (dir_ / name).string(); }

    // The uninterrupted run into ref/out.h5 (2 threads, 4 partitions); returns its simulation
    // loop's wall time [s].
    double reference(const std::string& cfg) {
        const auto r = run_glia("run " + cfg + " -o " + path("ref/out.h5") +
                                " --threads 2 --partitions 4 --no-progress --stats " +
                                path("ref/stats.json"));
        EXPECT_EQ(r.code, 0) << r.out;
        const double wall = wall_seconds_of(path("ref/stats.json"));
        EXPECT_GT(wall, 0.0);
        return wall;
    }

    // `glia run CFG -o run/out.h5 --no-progress ARGS`, logged into run/<log>.
    std::unique_ptr<glia_process> start(const std::string& cfg, const std::string& args,
                                        const std::string& log) {
        std::vector<std::string> a{"run", cfg, "-o", out(), "--no-progress"};
        std::istringstream in(args);
        for (std::string w; in >> w;) {
            a.push_back(w);
        }
        return std::make_unique<glia_process>(a, path("run/" + log));
    }
    std::string out() const { return path("run/out.h5"); }
    std::string ckpt() const { return out() + ".ckpt"; }

    // Starts a run, waits `delay` s after it is running and sends `signals` (one after the
    // other, at once); returns its exit code. `p` keeps the process for its log.
    int interrupt(const std::string& cfg, const std::string& args, const std::string& log,
                  double delay, const std::vector<int>& signals,
                  std::unique_ptr<glia_process>& p) {
        p = start(cfg, args, log);
        if (!wait_running_then(*p, out(), delay)) {
            return p->wait();  // ended before the signal: the caller sees exit code 0 or worse
        }
        for (int s: signals) {
            p->signal(s);
        }
        return p->wait();
    }

    fs::path dir_;
    std::uint64_t seed_ = 0;
};

// How far the run in `out` has come: /run@steps_done of an interrupted file.
std::int64_t steps_done(const std::string& out) {
    const auto info = glia::io::read_run_info(out);
    EXPECT_EQ(info.status, "interrupted");
    return info.steps_done;
}

}  // namespace

// SIGTERM, then SIGINT on the resumed run, then SIGUSR1 on the next, each at a random moment,
// each resume with other thread and partition counts; the file at the end equals the
// uninterrupted run's (2 threads, 4 partitions) bit for bit: spikes, V_m report, weight
// snapshots, spike counts, synaptic events, every attribute but the provenance.
TEST_F(checkpoint_cli, three_signals_at_random_steps_then_resume_equal_the_uninterrupted_run) {
    const std::string cfg = write("plastic.yaml", plastic_config());
    const double wall = reference(cfg);
    ASSERT_FALSE(HasFailure());

    // The reference is a real plastic run: both populations fire, every frame and snapshot
    // is there, and the weights moved.
    const auto ref_info = glia::io::read_run_info(path("ref/out.h5"));
    ASSERT_EQ(ref_info.status, "complete");
    EXPECT_GT(glia::io::read_spikes(path("ref/out.h5"), "exc").timestamps.size(), 10000u);
    EXPECT_GT(glia::io::read_spikes(path("ref/out.h5"), "inh").timestamps.size(), 5000u);
    EXPECT_EQ(glia::io::read_report(path("ref/out.h5"), "exc").n_frames, 90000u);
    const auto w = glia::io::read_weights(path("ref/out.h5"), "exc_exc");
    ASSERT_EQ(w.time.size(), 91u);
    const std::size_t n_syn = w.source.size();
    EXPECT_FALSE(std::equal(w.weight.begin(), w.weight.begin() + static_cast<long>(n_syn),
                            w.weight.end() - static_cast<long>(n_syn)))
        << "STDP changed no weight";

    // Each run is stopped 8..22% of the reference's loop time after it starts running: the
    // three stops fall in the first two thirds of the run, whatever the machine's speed.
    // Should a run end before its signal (a machine that got much faster), the chain starts
    // again with shorter waits.
    glia::rng_stream rng(seed_, 0, 0);
    const struct {
        int signo;
        const char* args;  // of the run the signal stops
    } stages[] = {{SIGTERM, "--threads 2 --partitions 2"},
                  {SIGINT, "--resume --threads 1 --partitions 3"},
                  {SIGUSR1, "--resume --threads 2 --partitions 1"}};
    bool chain_done = false;
    for (int attempt = 0; attempt < 3 && !chain_done; ++attempt) {
        fs::remove_all(dir_ / "run");
        fs::create_directories(dir_ / "run");
        const double scale = 1.0 / (1 << attempt);
        std::int64_t last_step = 0;
        chain_done = true;
        for (std::size_t k = 0; k < 3; ++k) {
            const double delay = scale * rng.uniform(0.08, 0.22) * wall;
            std::unique_ptr<glia_process> p;
            const std::string log = "stage" + std::to_string(k) + ".log";
            const int code = interrupt(cfg, stages[k].args, log, delay, {stages[k].signo}, p);
            const std::string text = p->log();
            if (code == 0) {
                std::cout << "[ note     ] run " << k << " completed before its signal ("
                          << delay << " s); again with shorter waits\n";
                chain_done = false;
                break;
            }
            ASSERT_EQ(code, 3) << text;
            const std::int64_t step = steps_done(out());
            std::cout << "[ stage    ] signal " << stages[k].signo << " after " << delay
                      << " s: stopped at step " << step << " of " << plastic_steps << "\n";
            EXPECT_GT(step, last_step) << "the run did not move on";
            EXPECT_LT(step, plastic_steps);
            last_step = step;
            ASSERT_TRUE(fs::exists(ckpt())) << text;
            EXPECT_FALSE(fs::exists(ckpt() + ".tmp"));
            EXPECT_THAT(text, HasSubstr("checkpoint written: " + ckpt()));
            EXPECT_THAT(text, HasSubstr("t = " + std::to_string(step) + " ms); continue the run "
                                        "with the same command and --resume"));
            EXPECT_THAT(text, HasSubstr("interrupted by signal " +
                                        std::to_string(stages[k].signo)));
            if (k > 0) {
                EXPECT_THAT(text, HasSubstr("resuming from " + ckpt()));
            }
            // The interrupted file is readable and holds exactly the spikes up to the stop.
            const auto s = glia::io::read_spikes(out(), "exc");
            ASSERT_FALSE(s.timestamps.empty());
            EXPECT_LE(s.timestamps.back(), static_cast<double>(step));
            EXPECT_EQ(glia::io::read_report(out(), "exc").n_frames,
                      static_cast<std::size_t>(step));
        }
        if (!chain_done) {
            continue;
        }
        const auto r = run_glia("run " + cfg + " -o " + out() +
                                " --no-progress --resume --threads 1 --partitions 5");
        ASSERT_EQ(r.code, 0) << r.out;
        EXPECT_THAT(r.out, HasSubstr("resuming from " + ckpt() + ": step " +
                                     std::to_string(last_step)));
        EXPECT_THAT(r.out, HasSubstr("removed checkpoint " + ckpt() + " (the run is complete)"));
        EXPECT_FALSE(fs::exists(ckpt()));
        EXPECT_EQ(int_attribute(out(), "/run@resumed_from_step"), last_step);
    }
    ASSERT_TRUE(chain_done) << "every run completed before its signal";
    const auto info = glia::io::read_run_info(out());
    EXPECT_EQ(info.status, "complete");
    EXPECT_EQ(info.steps_done, plastic_steps);
    expect_same_file(path("ref/out.h5"), out());
}

// A second signal: no checkpoint (exit code 3 all the same, the file readable and
// "interrupted"); an earlier checkpoint stays valid, also after a later run from it was
// killed with SIGKILL, and the run resumed from it still equals the uninterrupted one.
TEST_F(checkpoint_cli, a_second_signal_skips_the_checkpoint_and_an_earlier_one_stays_valid) {
    const std::string cfg = write("plastic.yaml", plastic_config());
    const double wall = reference(cfg);
    ASSERT_FALSE(HasFailure());
    glia::rng_stream rng(seed_, 1, 0);

    // 1. Two signals at once on a fresh run: no checkpoint at all.
    std::unique_ptr<glia_process> p;
    int code = interrupt(cfg, "--threads 2", "double.log", rng.uniform(0.05, 0.2) * wall,
                         {SIGTERM, SIGINT}, p);
    ASSERT_EQ(code, 3) << p->log();
    // Both signals arrive before the first has ended the epoch: the checkpoint is skipped (were
    // the second handled while it is written, it would be abandoned: no file either).
    EXPECT_THAT(p->log(), testing::AnyOf(HasSubstr("second signal: no checkpoint written (the "
                                                   "output is readable up to t = "),
                                         HasSubstr("second signal: checkpoint abandoned after")));
    EXPECT_FALSE(fs::exists(ckpt()));
    EXPECT_FALSE(fs::exists(ckpt() + ".tmp"));
    const std::int64_t cut = steps_done(out());
    EXPECT_GT(cut, 0);
    EXPECT_FALSE(glia::io::read_spikes(out(), "exc").timestamps.empty());
    const auto no_ckpt = run_glia("run " + cfg + " -o " + out() + " --resume");
    EXPECT_EQ(no_ckpt.code, 1);
    EXPECT_THAT(no_ckpt.out, HasSubstr("cannot resume: there is no checkpoint '" + ckpt() +
                                       "' for output '" + out() + "'"));

    // 2. A checkpoint, then a resumed run stopped by two signals: the checkpoint stays.
    code = interrupt(cfg, "--threads 2 --partitions 3", "first.log",
                     rng.uniform(0.05, 0.2) * wall, {SIGTERM}, p);
    ASSERT_EQ(code, 3) << p->log();
    ASSERT_TRUE(fs::exists(ckpt()));
    const std::int64_t saved = steps_done(out());
    const std::string checkpoint_bytes = slurp(ckpt());
    code = interrupt(cfg, "--resume --threads 1", "second.log", rng.uniform(0.05, 0.2) * wall,
                     {SIGUSR1, SIGTERM}, p);
    ASSERT_EQ(code, 3) << p->log();
    EXPECT_THAT(p->log(), HasSubstr("; the earlier checkpoint " + ckpt() + " stays valid"));
    EXPECT_GT(steps_done(out()), saved);
    EXPECT_TRUE(slurp(ckpt()) == checkpoint_bytes) << "the earlier checkpoint changed";

    // 3. Resumed from it again and killed: the file now holds more than the checkpoint.
    p = start(cfg, "--resume --threads 2", "killed.log");
    ASSERT_TRUE(wait_running_then(*p, out(), rng.uniform(0.05, 0.2) * wall)) << p->log();
    p->signal(SIGKILL);
    EXPECT_EQ(p->wait(), -SIGKILL);
    EXPECT_EQ(glia::io::read_run_info(out()).status, "running");

    // 4. Resumed from it once more, to the end: the datasets are cut back to the checkpoint.
    const auto r = run_glia("run " + cfg + " -o " + out() + " --no-progress --resume");
    ASSERT_EQ(r.code, 0) << r.out;
    EXPECT_THAT(r.out, HasSubstr("resuming from " + ckpt() + ": step " + std::to_string(saved)));
    EXPECT_FALSE(fs::exists(ckpt()));
    expect_same_file(path("ref/out.h5"), out());
}

// kill -9 in the middle of a run that flushes every 50 ms: the file opens, holds a prefix of
// the uninterrupted run (at least what a reader saw in it before the kill), and glia inspect
// calls it incomplete.
TEST_F(checkpoint_cli, kill_9_leaves_a_readable_prefix_that_inspect_calls_incomplete) {
    const std::string cfg = write("plastic.yaml", plastic_config("  flush_interval: 50 ms\n"));
    reference(cfg);
    ASSERT_FALSE(HasFailure());
    const auto ref = glia::io::read_spikes(path("ref/out.h5"), "exc");
    const auto ref_vm = glia::io::read_report(path("ref/out.h5"), "exc");

    auto p = start(cfg, "--threads 2", "killed.log");
    // The file fills while the run goes on (the flush interval at work); wait for a random
    // number of excitatory spikes in it, read from this process.
    glia::rng_stream rng(seed_, 2, 0);
    const auto wanted = static_cast<std::size_t>(rng.uniform(0.05, 0.25) *
                                                 static_cast<double>(ref.timestamps.size()));
    std::size_t seen = 0;
    const auto until = clock_type::now() + std::chrono::seconds(60);
    while (seen < wanted && p->running() && clock_type::now() < until) {
        try {
            seen = glia::io::summarize_spikes(out(), "exc").count;
        }
        catch (const glia::error&) {  // not created or not flushed yet
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    ASSERT_GE(seen, wanted) << "the file did not fill while the run went on\n" << p->log();
    ASSERT_TRUE(p->running()) << "the run ended before the kill";
    p->signal(SIGKILL);
    ASSERT_EQ(p->wait(), -SIGKILL);
    std::cout << "[ killed   ] after " << seen << " excitatory spikes in the file (wanted "
              << wanted << ")\n";

    const auto info = glia::io::read_run_info(out());
    EXPECT_EQ(info.status, "running");
    EXPECT_FALSE(info.has_summary);
    EXPECT_FALSE(fs::exists(ckpt())) << "kill -9 cannot write a checkpoint";
    const auto s = glia::io::read_spikes(out(), "exc");
    ASSERT_GE(s.timestamps.size(), seen);
    ASSERT_LT(s.timestamps.size(), ref.timestamps.size());
    EXPECT_TRUE(std::equal(s.timestamps.begin(), s.timestamps.end(), ref.timestamps.begin()));
    EXPECT_TRUE(std::equal(s.node_ids.begin(), s.node_ids.end(), ref.node_ids.begin()));
    const auto vm = glia::io::read_report(out(), "exc");
    EXPECT_GT(vm.n_frames, 0u);
    EXPECT_LT(vm.n_frames, ref_vm.n_frames);
    EXPECT_EQ(std::memcmp(vm.data.data(), ref_vm.data.data(), vm.data.size() * sizeof(float)), 0);
    const auto w = glia::io::read_weights(out(), "exc_exc");
    EXPECT_GE(w.time.size(), 1u);

    const auto r = run_glia("inspect " + out());
    EXPECT_EQ(r.code, 0) << r.out;
    EXPECT_THAT(r.out, HasSubstr("INCOMPLETE: killed or still running (status 'running', no "
                                 "end-of-run record; 90000 steps planned; data up to the last "
                                 "flush)"));
    // Nothing to resume from: the run is redone from the start.
    const auto resume = run_glia("run " + cfg + " -o " + out() + " --resume");
    EXPECT_EQ(resume.code, 1);
    EXPECT_THAT(resume.out, HasSubstr("cannot resume: there is no checkpoint '" + ckpt() + "'"));
}

// --resume refuses, with exit code 1 and a message naming the file and the reason, a
// checkpoint of another experiment, a damaged one, and one whose output is gone; a refused
// resume changes neither file. A fresh run removes a checkpoint left next to its output.
TEST_F(checkpoint_cli, resume_refuses_a_foreign_damaged_or_orphaned_checkpoint) {
    const std::string cfg = write("plastic.yaml", plastic_config());
    std::unique_ptr<glia_process> p;
    ASSERT_EQ(interrupt(cfg, "--threads 2", "stopped.log", 0.05, {SIGTERM}, p), 3) << p->log();
    ASSERT_TRUE(fs::exists(ckpt()));
    const std::string ckpt_bytes = slurp(ckpt());
    const std::string out_bytes = slurp(out());
    const std::string base = "run " + cfg + " -o " + out() + " --no-progress --resume";

    // Another experiment: what differs, as key paths with both values.
    const std::string foreign = "checkpoint '" + ckpt() + "' belongs to another experiment: ";
    const std::string advice = " (resume with the same file and --set options)";
    auto r = run_glia(base + " --set populations.exc.params.d=7");
    EXPECT_EQ(r.code, 1);
    EXPECT_THAT(r.out, HasSubstr(foreign + "populations.exc.params.d is '8' in the checkpoint "
                                 "and '7' now" + advice));
    r = run_glia("run " + write("more.yaml", plastic_config("  flush_interval: 1 s\n")) +
                 " -o " + out() + " --resume --set simulation.duration=100s");
    EXPECT_EQ(r.code, 1);
    EXPECT_THAT(r.out, HasSubstr(foreign + "simulation.duration is '90 s' in the checkpoint and "
                                 "'100s' now; output is absent in the checkpoint and "
                                 "'{flush_interval: 1 s}' now" + advice));
    // The same values written differently (block instead of flow style) are refused too: the
    // resolved config text is what a checkpoint and its output file belong to.
    std::string block = plastic_config();
    const std::string flow = "simulation: {dt: 1 ms, duration: 90 s, seed: 11}\n";
    block.replace(0, flow.size(), "simulation:\n  dt: 1 ms\n  duration: 90 s\n  seed: 11\n");
    r = run_glia("run " + write("block.yaml", block) + " -o " + out() + " --resume");
    EXPECT_EQ(r.code, 1);
    EXPECT_THAT(r.out, HasSubstr(foreign + "the same values written differently: line 1 of the "
                                 "resolved config is '" + flow.substr(0, flow.size() - 1) +
                                 "' in the checkpoint and 'simulation:' now" + advice));
    EXPECT_TRUE(slurp(ckpt()) == ckpt_bytes);
    EXPECT_TRUE(slurp(out()) == out_bytes) << "a refused resume touched the output";

    // Damaged: one byte of the state changed; cut short.
    {
        std::string bad = ckpt_bytes;
        bad[bad.size() / 2] = static_cast<char>(bad[bad.size() / 2] ^ 0x10);
        std::ofstream(ckpt(), std::ios::binary) << bad;
    }
    r = run_glia(base);
    EXPECT_EQ(r.code, 1);
    EXPECT_THAT(r.out, HasSubstr("checkpoint '" + ckpt() + "' is damaged (data checksum "
                                 "mismatch)"));
    std::ofstream(ckpt(), std::ios::binary) << ckpt_bytes.substr(0, ckpt_bytes.size() - 100);
    r = run_glia(base);
    EXPECT_EQ(r.code, 1);
    EXPECT_THAT(r.out, HasSubstr("checkpoint '" + ckpt() + "' is incomplete or damaged (no end "
                                 "marker)"));
    EXPECT_TRUE(slurp(out()) == out_bytes) << "a refused resume touched the output";

    // The output gone: the checkpoint continues a file, it does not hold the data before it.
    std::ofstream(ckpt(), std::ios::binary) << ckpt_bytes;
    fs::rename(out(), path("run/moved.h5"));
    r = run_glia(base);
    EXPECT_EQ(r.code, 1);
    EXPECT_THAT(r.out, HasSubstr("cannot resume output file '" + out() + "': it does not exist"));
    fs::rename(path("run/moved.h5"), out());

    // A fresh run (no --resume) writes its output anew and removes the stale checkpoint.
    r = run_glia("run " + cfg + " -o " + out() + " --no-progress --set simulation.duration=1s");
    EXPECT_EQ(r.code, 0) << r.out;
    EXPECT_THAT(r.out, HasSubstr("removed checkpoint " + ckpt() + " (this run writes its output "
                                 "anew; --resume continues a run)"));
    EXPECT_FALSE(fs::exists(ckpt()));
}
