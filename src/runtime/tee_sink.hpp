#pragma once
// Hands every recording_sink call to two sinks, `first` then `second`: e.g. the monitor
// (which never blocks) and then the file's async_sink (which may, when its queue is full).

#include <glia/recording.hpp>

namespace glia::runtime {

class tee_sink final: public recording_sink {
public:
    tee_sink(recording_sink& first, recording_sink& second): first_(first), second_(second) {}

    void begin(const run_layout& layout) override {
        first_.begin(layout);
        second_.begin(layout);
    }
    void spikes(std::span<const spike_event> batch) override {
        first_.spikes(batch);
        second_.spikes(batch);
    }
    void frames(std::size_t report, std::size_t first_frame, std::size_t n_frames,
                std::span<const float> data) override {
        first_.frames(report, first_frame, n_frames, data);
        second_.frames(report, first_frame, n_frames, data);
    }
    void end(const run_summary& summary) override {
        first_.end(summary);
        second_.end(summary);
    }
    void flush() override {
        first_.flush();
        second_.flush();
    }

private:
    recording_sink& first_;
    recording_sink& second_;
};

}  // namespace glia::runtime
