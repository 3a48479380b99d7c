// Bug (hostile-input testing): `glia inspect` of an output file that was renamed or copied
// called the reports in the file itself unreadable: it looked them up by the name the file was
// written under (/run/reports/file). Now a report is read from the inspected file when that
// file holds it (its group with @report naming it); reports in sibling files are looked up by
// their names relative to the inspected file's directory.

#include <filesystem>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "cli_harness.hpp"

namespace {

using testing::HasSubstr;
using testing::Not;

class inspect_of_a_renamed_file_lost_its_reports: public glia::test::scratch_test {
protected:
    inspect_of_a_renamed_file_lost_its_reports(): scratch_test("regression") {}
};

TEST_F(inspect_of_a_renamed_file_lost_its_reports, reports_are_found_in_the_renamed_file) {
    const std::string out = path("original.h5");
    // Two reports of one population: the first in the main file, the second in
    // original.vm2.h5 beside it.
    const auto r = glia::test::run_glia(
        "run " + std::string(GLIA_SOURCE_DIR) + "/configs/cuba.yaml --no-progress -o " + out +
        " --set simulation.duration=20ms"
        " --set 'record.reports.vm2={population: exc, variable: V_m, neurons: {first: 3}}'");
    ASSERT_EQ(r.code, 0) << r.out;
    std::filesystem::create_directories(path("moved"));
    std::filesystem::rename(out, path("moved/renamed.h5"));
    std::filesystem::rename(path("original.vm2.h5"), path("moved/original.vm2.h5"));
    const auto i = glia::test::run_glia("inspect " + path("moved/renamed.h5"));
    EXPECT_EQ(i.code, 0) << i.out;
    EXPECT_THAT(i.out, Not(HasSubstr("unreadable"))) << i.out;
    EXPECT_THAT(i.out, HasSubstr("200     10     0..20 step 0.1  renamed.h5"));
    EXPECT_THAT(i.out, HasSubstr("200     3      0..20 step 0.1  original.vm2.h5"));
}

}  // namespace
