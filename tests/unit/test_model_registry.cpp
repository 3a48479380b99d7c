#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <glia/error.hpp>
#include <glia/model_registry.hpp>

namespace {

std::unique_ptr<glia::neuron_block> no_block(const glia::block_args&) { return nullptr; }

glia::neuron_model fake(std::string name, std::vector<std::string> aliases = {}) {
    glia::neuron_model m;
    m.info.name = std::move(name);
    m.info.aliases = std::move(aliases);
    m.make_block = no_block;
    return m;
}

}  // namespace

TEST(model_registry, finds_models_by_name_and_alias) {
    glia::model_registry r;
    r.add(fake("iaf", {"IF_x"}));
    r.add(fake("izh"));
    ASSERT_NE(r.find("iaf"), nullptr);
    EXPECT_EQ(r.find("IF_x"), r.find("iaf"));
    EXPECT_EQ(r.find("nothing"), nullptr);
    EXPECT_EQ(r.names(), (std::vector<std::string>{"iaf", "izh"}));
}

TEST(model_registry, rejects_a_taken_name_or_alias) {
    glia::model_registry r;
    r.add(fake("iaf", {"IF_x"}));
    EXPECT_THROW(r.add(fake("iaf")), glia::internal_error);
    EXPECT_THROW(r.add(fake("other", {"IF_x"})), glia::internal_error);
    EXPECT_THROW(r.add(fake("IF_x")), glia::internal_error);
}
